# Terraform state of every environment (prefix giftengine/<env>), versioned, never public,
# access-logged. The pipeline reads and writes it as the deployer.

resource "google_storage_bucket" "tfstate" {
  project                     = var.ops_project_id
  name                        = "${var.ops_project_id}-tfstate"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = "tfstate"
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 50
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.ops]
}

resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:The bucket that receives access logs cannot log its own access into itself (decision 012).
  project                     = var.ops_project_id
  name                        = "${var.ops_project_id}-ops-access-logs"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.ops]
}

resource "google_storage_bucket_iam_member" "access_log_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}

resource "google_storage_bucket_iam_member" "deployer_state" {
  bucket = google_storage_bucket.tfstate.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.deployer.member
}
