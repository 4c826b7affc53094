# Cloud Run services of the manifest (the long-lived TikTok LIVE ingest worker). They run the
# image cloudbuild.yaml builds once into the ops registry (terraform/bootstrap) and promotes
# from dev to prod by digest, with their own identity and secrets.
#
# Scale: the worker answers no requests, so request-based autoscaling never adds an instance
# for more creators. The service runs in manual scaling mode and the `ingest_scale` function
# (a Scheduler job) sets its instance count from the number of targets through the Cloud Run
# Admin API, between the manifest's min_instances and max_instances (the documented ceiling):
# https://cloud.google.com/run/docs/configuring/services/manual-scaling

resource "google_cloud_run_v2_service" "service" {
  for_each = local.services

  project             = var.project_id
  location            = local.region
  name                = each.value.name
  description         = each.value.description
  labels              = local.labels
  ingress             = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = var.deletion_protection

  scaling {
    scaling_mode          = "MANUAL"
    manual_instance_count = each.value.min_instances
  }

  template {
    service_account = google_service_account.identity[each.value.identity].email


    containers {
      image = var.worker_image
      # Cloud Run appends the image's CMD when `args` is empty: split the manifest's argv into
      # the entrypoint and its arguments so the container runs exactly the manifest command.
      command = slice(each.value.command, 0, 1)
      args    = slice(each.value.command, 1, length(each.value.command))

      ports {
        container_port = 8080
      }

      # The worker serves GET /readyz (first scan done, not draining) and GET /healthz (its
      # event loop answers) on $PORT (ingest/health.py). Startup waits up to 240 s, the
      # longest a startup probe may take; liveness restarts a wedged worker.
      # https://cloud.google.com/run/docs/configuring/healthchecks
      startup_probe {
        http_get {
          path = "/readyz"
          port = 8080
        }
        period_seconds    = 10
        timeout_seconds   = 5
        failure_threshold = 24
      }

      liveness_probe {
        http_get {
          path = "/healthz"
          port = 8080
        }
        period_seconds    = 30
        timeout_seconds   = 5
        failure_threshold = 3
      }

      resources {
        # A long-lived websocket client: keep the CPU when no request is in flight.
        cpu_idle = false
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
      }

      dynamic "env" {
        for_each = local.function_env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = toset(each.value.secrets)
        content {
          name = env.value
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.secret[env.value].secret_id
              version = "latest"
            }
          }
        }
      }
    }
  }

  lifecycle {
    # The reconciler owns the instance count between applies.
    ignore_changes = [scaling[0].manual_instance_count]

    precondition {
      condition     = var.worker_image != ""
      error_message = "The manifest has Cloud Run services: set worker_image (cloudbuild.yaml passes it)."
    }
  }

  depends_on = [google_project_service.api, google_secret_manager_secret_iam_member.identity]
}

# The scaling function may change this one service (roles/run.developer holds
# run.services.update) and act as its runtime identity, which an update of a service needs;
# nothing else of the project.
resource "google_cloud_run_v2_service_iam_member" "scaler" {
  for_each = local.scaled_services

  project  = var.project_id
  location = local.region
  name     = google_cloud_run_v2_service.service[each.key].name
  role     = "roles/run.developer"
  member   = google_service_account.identity[local.functions[each.value.scaled_by].identity].member
}

resource "google_service_account_iam_member" "scaler_acts_as_service" {
  for_each = local.scaled_services

  service_account_id = google_service_account.identity[each.value.identity].name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.identity[local.functions[each.value.scaled_by].identity].member
}
