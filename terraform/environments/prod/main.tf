# giftengine, prod environment: one GCP project, everything from the shared module and the
# one manifest. State lives in a GCS bucket created at bootstrap (docs/deploy.md):
#   terraform -chdir=terraform/environments/prod init -backend-config=bucket=STATE_BUCKET

terraform {
  required_version = ">= 1.5"

  backend "gcs" {
    prefix = "giftengine/prod"
  }

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.20, < 8.0"
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
  repo_root = abspath("${path.module}/../../..")
}

module "giftengine" {
  source = "../../modules/giftengine"

  project_id          = var.project_id
  environment         = "prod"
  region              = var.region
  manifest_path       = "${local.repo_root}/functions/giftengine/manifest.yaml"
  repo_root           = local.repo_root
  worker_image        = var.worker_image
  deletion_protection = true
  alert_emails        = var.alert_emails
  extra_env           = var.extra_env
  # Ledger reconciliation walks every wallet (wallet_jobs /reconcile).
  function_timeouts = { wallet_jobs = 540 }
}
