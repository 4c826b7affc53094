# Project-level plumbing: APIs, labels and the platform identities that are not a function
# or a service of the manifest (the build identity and the three invoker identities).

locals {
  labels = {
    app         = "giftengine"
    environment = var.environment
    managed-by  = "terraform"
  }

  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtasks.googleapis.com",
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])

  # Identities of the platform, each with the narrowest grant that lets it do its one job.
  platform_identities = {
    builder     = "Builds function source into containers (Cloud Build)."
    pubsub-push = "OIDC identity of Pub/Sub push subscriptions; may invoke their target functions only."
    tasks       = "OIDC identity of Cloud Tasks tasks; may invoke the queues' target functions only."
    scheduler   = "OIDC identity of Cloud Scheduler jobs; may invoke their target functions only."
  }

  builder_roles = toset([
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
  ])
}

data "google_project" "this" {
  project_id = var.project_id
}

resource "google_project_service" "api" {
  for_each = local.apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_service_account" "platform" {
  for_each = local.platform_identities

  project      = var.project_id
  account_id   = "ge-${each.key}"
  display_name = "giftengine ${each.key}"
  description  = each.value

  depends_on = [google_project_service.api]
}

resource "google_project_iam_member" "builder" {
  for_each = local.builder_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.platform["builder"].member
}

# The Pub/Sub service agent signs push OIDC tokens and forwards dead letters.
resource "google_service_account_iam_member" "pubsub_agent_token_creator" {
  service_account_id = google_service_account.platform["pubsub-push"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
