# One service account per manifest function and service, granted only the project roles the
# manifest lists for it (`roles:`) and only the secrets it lists (`secrets:`), per secret.

resource "google_service_account" "identity" {
  for_each = local.identities

  project      = var.project_id
  account_id   = each.key
  display_name = "giftengine ${each.value.kind} ${each.value.key}"
  description  = "Runtime identity of the ${each.value.kind} ${each.value.key} (manifest.yaml)."

  lifecycle {
    precondition {
      condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", each.key))
      error_message = "Service account id ${each.key} must be 6-30 characters of a-z, 0-9 and '-'; shorten the manifest name."
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_project_iam_member" "identity" {
  for_each = local.identity_roles

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.identity[each.value.identity].member
}

resource "google_secret_manager_secret_iam_member" "identity" {
  for_each = local.identity_secrets

  project   = var.project_id
  secret_id = google_secret_manager_secret.secret[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.identity[each.value.identity].member
}

# An identity that enqueues Cloud Tasks attaches the `tasks` identity to each task's OIDC
# token, which needs actAs on that one account (not on the project).
resource "google_service_account_iam_member" "task_enqueuer" {
  for_each = local.task_enqueuers

  service_account_id = google_service_account.platform["tasks"].name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.identity[each.value].member
}
