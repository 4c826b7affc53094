# Cloud Build triggers, in the ops project, both running cloudbuild.yaml as the deployer:
#   dev  - every push to main: test, build the worker image once, apply dev.
#   prod - release tags vX.Y.Z, after a person approves: test, promote the image dev built
#          for that commit (same digest, no rebuild), apply prod.
locals {
  triggers = {
    for env, e in var.environments : env => {
      project_id = e.project_id
      approval   = env == "prod"
    } if var.github_repo != ""
  }
}

resource "google_cloudbuild_trigger" "deploy" {
  for_each = local.triggers

  project         = var.ops_project_id
  location        = "global"
  name            = "giftengine-deploy-${each.key}"
  description     = "Test against the emulators, ${each.key == "dev" ? "build the worker image" : "promote dev's worker image"}, terraform apply ${each.key}."
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.deployer.id

  github {
    owner = var.github_owner
    name  = var.github_repo
    push {
      branch = each.key == "dev" ? "^main$" : null
      tag    = each.key == "prod" ? "^v[0-9]+\\.[0-9]+\\.[0-9]+$" : null
    }
  }

  approval_config {
    approval_required = each.value.approval
  }

  substitutions = {
    _ENV             = each.key
    _PROJECT         = each.value.project_id
    _REGION          = var.region
    _TF_STATE_BUCKET = google_storage_bucket.tfstate.name
  }
}
