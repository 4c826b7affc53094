# Stage 2 of 2: one environment of giftengine. The same root serves dev and prod; only the
# variables differ (envs/<env>.tfvars plus the project and image the pipeline passes), so
# an environment cannot drift from the other by a copied file. State lives in the ops
# stage's bucket (terraform/bootstrap), one prefix per environment:
#   terraform -chdir=terraform/environment init -lockfile=readonly \
#     -backend-config=bucket=OPS-tfstate -backend-config=prefix=giftengine/ENV

terraform {
  required_version = ">= 1.5"

  backend "gcs" {}

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.30, < 8.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  repo_root = abspath("${path.module}/../..")
}

module "giftengine" {
  source = "../modules/giftengine"

  project_id          = var.project_id
  environment         = var.environment
  region              = var.region
  manifest_path       = "${local.repo_root}/functions/giftengine/manifest.yaml"
  repo_root           = local.repo_root
  worker_image        = var.worker_image
  deletion_protection = var.deletion_protection
  alert_emails        = var.alert_emails
  extra_env           = var.extra_env
  website_url         = var.website_url
  payments_live       = var.payments_live
  esewa_product_code  = var.esewa_product_code
}
