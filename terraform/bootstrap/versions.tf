# Stage 1 of 2: the ops stage, applied once by a person (Owner of the projects, Billing
# Account Costs Manager) with local state, like GoogleCloudPlatform/emblem's `ops` stage.
# It creates what every pipeline run needs before it can start: the APIs, the Terraform
# state bucket, the Artifact Registry repository the worker image is pushed to (before any
# `terraform apply` of an environment), the deployer identity, the Cloud Build triggers and
# a budget per environment. Stage 2 is terraform/environment, one root applied per
# environment with only its variables differing (envs/<env>.tfvars).
#
# The provider lock files (.terraform.lock.hcl of this stage and of terraform/environment)
# are created once, when the stage is applied, with
#   terraform providers lock -platform=linux_amd64 -platform=darwin_arm64
# (docs/deploy.md, step 2; no provider can be downloaded where the tests run) and committed;
# pipeline runs init with -lockfile=readonly, so a run without them fails at once.

terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.30, < 8.0"
    }
  }
}

provider "google" {
  project               = var.ops_project_id
  region                = var.region
  billing_project       = var.ops_project_id
  user_project_override = true
}
