# Cloud Storage. `bucket` holds the manifest's buckets (exports); `platform` the buckets the
# deploy itself needs (function source zips) and `access_logs` the bucket every other bucket
# logs into. All: uniform access, public access prevented, versioned, lifecycle-limited.

locals {
  platform_buckets = {
    function-source = {
      name           = "${var.project_id}-gcf-source"
      retention_days = 30
    }
  }
}

resource "google_storage_bucket" "bucket" {
  for_each = local.buckets

  project                     = var.project_id
  name                        = each.value.name
  location                    = local.region
  labels                      = local.labels
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection

  versioning {
    enabled = true
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = each.key
  }

  dynamic "lifecycle_rule" {
    for_each = each.value.retention_days == null ? [] : [each.value.retention_days]
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_storage_bucket" "platform" {
  for_each = local.platform_buckets

  project                     = var.project_id
  name                        = each.value.name
  location                    = local.region
  labels                      = local.labels
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  versioning {
    enabled = true
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = each.key
  }

  lifecycle_rule {
    condition {
      age = each.value.retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.api]
}

# The access-log bucket does not log into itself.
resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:The bucket that receives access logs cannot log its own access into itself (decision 012).
  project                     = var.project_id
  name                        = "${var.project_id}-access-logs"
  location                    = local.region
  labels                      = local.labels
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = var.access_log_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.api]
}

# Cloud Storage writes access logs as this group.
resource "google_storage_bucket_iam_member" "access_log_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}

# A custom build service account of Cloud Functions needs roles/storage.objectAdmin on the
# source bucket (objectViewer is not enough: the build writes back to it). Required roles:
# https://cloud.google.com/functions/docs/securing/build-custom-sa
resource "google_storage_bucket_iam_member" "builder_source" {
  bucket = google_storage_bucket.platform["function-source"].name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.platform["builder"].member
}
