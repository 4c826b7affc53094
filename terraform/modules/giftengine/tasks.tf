# Cloud Tasks queues of the manifest. Each task carries an OIDC token of the `tasks`
# identity, the only identity (besides Scheduler's, where the manifest says so) that may
# invoke the queue's target function.

resource "google_cloud_tasks_queue" "queue" {
  for_each = local.queues

  project  = var.project_id
  location = local.region
  name     = each.key

  rate_limits {
    max_dispatches_per_second = each.value.max_dispatches_per_second
  }

  retry_config {
    max_attempts  = each.value.max_attempts
    min_backoff   = "0.1s"
    max_backoff   = "10s"
    max_doublings = 4
  }

  stackdriver_logging_config {
    sampling_ratio = 0.01
  }

  depends_on = [google_project_service.api]
}
