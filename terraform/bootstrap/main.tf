locals {
  ops_apis = toset([
    "artifactregistry.googleapis.com",
    "billingbudgets.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
  ])

  # What an environment project needs before the module can enable the rest itself; run is
  # here because its service agent must exist to be granted the registry read below.
  env_apis = toset([
    "cloudresourcemanager.googleapis.com",
    "firebase.googleapis.com",
    "firebasehosting.googleapis.com",
    "iam.googleapis.com",
    "run.googleapis.com",
    "serviceusage.googleapis.com",
  ])

  env_api_pairs = {
    for pair in setproduct(keys(var.environments), local.env_apis) : "${pair[0]}/${pair[1]}" => {
      env = pair[0]
      api = pair[1]
    }
  }

  # What the deployer may do in each environment project: everything terraform/environment
  # creates. roles/editor creates most resources but may not change IAM policies; each IAM
  # surface the module writes needs its service's admin role:
  #   project IAM members            roles/resourcemanager.projectIamAdmin
  #   service accounts and actAs     roles/iam.serviceAccountAdmin, roles/iam.serviceAccountUser
  #   Pub/Sub topic and subscription IAM (dead letters): roles/pubsub.admin holds
  #     pubsub.topics.setIamPolicy / pubsub.subscriptions.setIamPolicy, editor does not
  #     (https://cloud.google.com/pubsub/docs/access-control)
  #   Cloud Run / function invokers  roles/run.admin
  #   secret accessors               roles/secretmanager.admin
  #   bucket IAM                     roles/storage.admin
  #   Firestore rules releases       roles/firebaserules.admin
  #   Hosting releases (firebase deploy --only hosting): roles/firebasehosting.admin
  #   event archive table IAM (archive.tf: the Pub/Sub agent writes rows): roles/bigquery.admin
  deployer_env_roles = toset([
    "roles/bigquery.admin",
    "roles/editor",
    "roles/firebasehosting.admin",
    "roles/firebaserules.admin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",
    "roles/pubsub.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/run.admin",
    "roles/secretmanager.admin",
    "roles/storage.admin",
  ])

  deployer_env_grants = {
    for pair in setproduct(keys(var.environments), local.deployer_env_roles) : "${pair[0]}/${pair[1]}" => {
      env  = pair[0]
      role = pair[1]
    }
  }

  registry = "${var.region}-docker.pkg.dev/${var.ops_project_id}/${google_artifact_registry_repository.images.repository_id}"
}

resource "google_project_service" "ops" {
  for_each = local.ops_apis

  project            = var.ops_project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_project_service" "env" {
  for_each = local.env_api_pairs

  project            = var.environments[each.value.env].project_id
  service            = each.value.api
  disable_on_destroy = false
}

data "google_project" "env" {
  for_each   = var.environments
  project_id = each.value.project_id
}

# The one registry of built artifacts: dev's pipeline pushes the worker image here, prod's
# pipeline deploys the same digest (cloudbuild.yaml, step resolve-worker).
resource "google_artifact_registry_repository" "images" {
  project       = var.ops_project_id
  location      = var.region
  repository_id = "giftengine"
  description   = "giftengine build artifacts (the ingest worker image), promoted dev -> prod."
  format        = "DOCKER"

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 50
    }
  }

  depends_on = [google_project_service.ops]
}

# The identity every pipeline run deploys as.
resource "google_service_account" "deployer" {
  project      = var.ops_project_id
  account_id   = "giftengine-deployer"
  display_name = "giftengine deployer"
  description  = "Cloud Build runs cloudbuild.yaml as this account: pushes the image, applies terraform/environment."

  depends_on = [google_project_service.ops]
}

resource "google_project_iam_member" "deployer_env" {
  for_each = local.deployer_env_grants

  project = var.environments[each.value.env].project_id
  role    = each.value.role
  member  = google_service_account.deployer.member
}

resource "google_project_iam_member" "deployer_logs" {
  project = var.ops_project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.deployer.member
}

resource "google_artifact_registry_repository_iam_member" "deployer_pushes" {
  project    = var.ops_project_id
  location   = var.region
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.deployer.member
}

# Each environment's Cloud Run service agent pulls the worker image from the ops registry.
resource "google_artifact_registry_repository_iam_member" "env_pulls" {
  for_each = var.environments

  project    = var.ops_project_id
  location   = var.region
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:service-${data.google_project.env[each.key].number}@serverless-robot-prod.iam.gserviceaccount.com"

  depends_on = [google_project_service.env]
}

# `gcloud builds submit` uploads the source to gs://OPS_cloudbuild; a build run as a
# user-specified service account reads it from there and must log to Cloud Logging
# (cloudbuild.yaml: logging CLOUD_LOGGING_ONLY).
# https://cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts
resource "google_project_iam_member" "deployer_reads_build_source" {
  project = var.ops_project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.deployer.member
}
