# Cloud Run services of the manifest (the long-lived TikTok LIVE ingest worker). They run the
# image cloudbuild.yaml builds from the same package, with their own identity and secrets.

resource "google_artifact_registry_repository" "images" {
  project       = var.project_id
  location      = local.region
  repository_id = "giftengine"
  description   = "Container images of giftengine's Cloud Run services."
  format        = "DOCKER"
  labels        = local.labels

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_cloud_run_v2_service" "service" {
  for_each = local.services

  project             = var.project_id
  location            = local.region
  name                = each.value.name
  description         = each.value.description
  labels              = local.labels
  ingress             = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = var.deletion_protection

  template {
    service_account = google_service_account.identity[each.value.identity].email

    scaling {
      min_instance_count = each.value.min_instances
      max_instance_count = each.value.max_instances
    }

    containers {
      image = var.worker_image
      # Cloud Run appends the image's CMD when `args` is empty: split the manifest's argv into
      # the entrypoint and its arguments so the container runs exactly the manifest command.
      command = slice(each.value.command, 0, 1)
      args    = slice(each.value.command, 1, length(each.value.command))

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
    precondition {
      condition     = var.worker_image != ""
      error_message = "The manifest has Cloud Run services: set worker_image (cloudbuild.yaml passes it)."
    }
  }

  depends_on = [google_project_service.api, google_secret_manager_secret_iam_member.identity]
}
