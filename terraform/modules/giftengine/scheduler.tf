# Cloud Scheduler jobs of the manifest: each calls its HTTP function with an OIDC token of
# the `scheduler` identity.

resource "google_cloud_scheduler_job" "job" {
  for_each = local.schedules

  project     = var.project_id
  region      = local.region
  name        = each.key
  description = each.value.description
  schedule    = each.value.cron
  time_zone   = each.value.time_zone
  # Never shorter than the target's timeout (a 540 s reconcile must not be cut at 320 s).
  attempt_deadline = "${each.value.attempt_deadline_s}s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = "${google_cloudfunctions2_function.fn[each.value.target].service_config[0].uri}${each.value.path}"

    oidc_token {
      service_account_email = google_service_account.platform["scheduler"].email
      audience              = google_cloudfunctions2_function.fn[each.value.target].service_config[0].uri
    }
  }

  depends_on = [google_project_service.api]
}
