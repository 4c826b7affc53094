# Dev deploys on every push to main, without approval.
resource "google_cloudbuild_trigger" "deploy" {
  count = var.github_repo == "" ? 0 : 1

  project         = var.project_id
  location        = "global"
  name            = "giftengine-deploy-dev"
  description     = "Test against the emulators, build the worker image, terraform apply dev."
  filename        = "cloudbuild.yaml"
  service_account = "projects/${var.project_id}/serviceAccounts/${var.deployer_service_account}"

  github {
    owner = var.github_owner
    name  = var.github_repo
    push {
      branch = "^main$"
    }
  }

  substitutions = {
    _ENV             = "dev"
    _REGION          = coalesce(var.region, "us-central1")
    _TF_STATE_BUCKET = var.tf_state_bucket
    _GITHUB_OWNER    = var.github_owner
    _GITHUB_REPO     = var.github_repo
    _DEPLOYER_SA     = var.deployer_service_account
    _ALERT_EMAILS    = jsonencode(var.alert_emails)
  }
}
