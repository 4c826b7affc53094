# The event archive: every message of the engagement topic lands in BigQuery through a
# Pub/Sub BigQuery subscription (no code runs for it); the view `giftengine.events` has one
# row per EngagementEvent. Firestore keeps what clients read; event records there expire by
# TTL (docs/deploy.md, "Event archive").
#
# A message carries one event or, since decision 004, a batch `{"events": [...]}` of one
# stream's events. The subscription writes a message's JSON fields into the columns of
# `event_messages` (one row per message): a single event fills the event's columns, a batch
# fills `events`, a REPEATED record of the same columns (decision 043). The schema is
# derived from the EngagementEvent JSON Schema (giftengine/reports/archive.py;
# tests/reports/test_archive_schema.py keeps the file equal to the derivation). A batch row
# has no `occurred_at` of its own, so the table is partitioned by the time BigQuery received
# the row (`_PARTITIONTIME`, exposed by the view as `archived_day`: bound it to prune).

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

resource "google_bigquery_table" "event_messages" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.archive.dataset_id
  table_id            = "event_messages"
  description         = "Every message of the engagement topic (at least once): one event, or a batch in `events`. Query the view `events`."
  labels              = local.labels
  deletion_protection = true # the archive outlives any environment rebuild
  schema              = file("${path.module}/engagement_messages.schema.json")

  time_partitioning {
    type = "DAY" # ingestion time: a batch row has no occurred_at of its own
  }
}

# One row per event, the EngagementEvent's columns (docs/reports.md queries it), and the day
# its message was archived. Delivery is at least once: dedupe on event_id where it matters.
resource "google_bigquery_table" "events" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.archive.dataset_id
  table_id            = "events"
  description         = "Every EngagementEvent as published, one row per event (a view over event_messages)."
  labels              = local.labels
  deletion_protection = true # as the table's: the reports' queries name it

  view {
    use_legacy_sql = false
    query          = <<-SQL
      SELECT * EXCEPT (events), DATE(_PARTITIONTIME) AS archived_day
      FROM `${var.project_id}.${google_bigquery_dataset.archive.dataset_id}.${google_bigquery_table.event_messages.table_id}`
      WHERE event_id IS NOT NULL
      UNION ALL
      SELECT e.*, DATE(m._PARTITIONTIME) AS archived_day
      FROM `${var.project_id}.${google_bigquery_dataset.archive.dataset_id}.${google_bigquery_table.event_messages.table_id}` AS m,
        UNNEST(m.events) AS e
    SQL
  }
}

# The Pub/Sub service agent writes the rows.
resource "google_bigquery_table_iam_member" "pubsub_agent_writes_events" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.archive.dataset_id
  table_id   = google_bigquery_table.event_messages.table_id
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
    table               = "${var.project_id}.${google_bigquery_dataset.archive.dataset_id}.${google_bigquery_table.event_messages.table_id}"
    use_table_schema    = true
    drop_unknown_fields = true
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_bigquery_table_iam_member.pubsub_agent_writes_events]
}
