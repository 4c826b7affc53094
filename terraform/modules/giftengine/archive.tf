# The event archive: every EngagementEvent also lands in BigQuery through a Pub/Sub
# BigQuery subscription on the engagement topic (no code runs for it). Firestore keeps what
# clients read; event records there expire by TTL (docs/deploy.md, "Event archive").
#
# The table's schema is derived from the EngagementEvent JSON Schema
# (giftengine/reports/archive.py; tests/reports/test_archive_schema.py keeps the file equal
# to the derivation). Partitioned by day of `occurred_at`, clustered by creator then stream,
# so the per-creator and per-stream queries of docs/reports.md read only their days and
# blocks.

resource "google_project_service" "bigquery" {
  project            = var.project_id
  service            = "bigquery.googleapis.com"
  disable_on_destroy = false
}

resource "google_bigquery_dataset" "archive" {
  project     = var.project_id
  dataset_id  = "giftengine"
  location    = local.region
  description = "giftengine event archive (Pub/Sub BigQuery subscription)."
  labels      = local.labels

  depends_on = [google_project_service.bigquery]
}

resource "google_bigquery_table" "events" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.archive.dataset_id
  table_id            = "events"
  description         = "Every EngagementEvent as published (at least once: dedupe on event_id)."
  labels              = local.labels
  deletion_protection = true # the archive outlives any environment rebuild
  schema              = file("${path.module}/engagement_events.schema.json")

  time_partitioning {
    type  = "DAY"
    field = "occurred_at"
  }

  clustering = ["creator_id", "stream_id"]
}

# The Pub/Sub service agent writes the rows.
resource "google_bigquery_table_iam_member" "pubsub_agent_writes_events" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.archive.dataset_id
  table_id   = google_bigquery_table.events.table_id
  role       = "roles/bigquery.dataEditor"
  member     = local.pubsub_agent
}

resource "google_pubsub_subscription" "archive" {
  project = var.project_id
  name    = "engagement-to-bigquery"
  topic   = google_pubsub_topic.topic["engagement"].id
  labels  = local.labels

  message_retention_duration = "604800s"

  bigquery_config {
    table               = "${var.project_id}.${google_bigquery_dataset.archive.dataset_id}.${google_bigquery_table.events.table_id}"
    use_table_schema    = true
    drop_unknown_fields = true
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_bigquery_table_iam_member.pubsub_agent_writes_events]
}
