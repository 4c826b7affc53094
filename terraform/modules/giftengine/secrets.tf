# Secret Manager secrets: every id any function or service lists under `secrets:` (Stripe
# keys, webhook signing secrets, the TikTok sign key). Terraform creates the secret, never
# its value: add versions with `gcloud secrets versions add` (docs/deploy.md).

resource "google_secret_manager_secret" "secret" {
  for_each = local.secret_ids

  project   = var.project_id
  secret_id = each.value
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.api]
}
