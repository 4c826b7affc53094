# Alert policies: error rate > 1%, p95 latency > 500 ms (per function or service), and any
# message waiting in a dead-letter subscription. Gen2 functions run on Cloud Run, so both
# functions and services report run.googleapis.com request metrics.

locals {
  run_service_names = concat(
    [for key, f in local.functions : f.name],
    [for key, s in local.services : s.name],
  )
  latency_filter        = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = one_of(${join(", ", [for n in local.latency_watched_names : "\"${n}\""])})"
  run_service_filter    = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = one_of(${join(", ", [for n in local.run_service_names : "\"${n}\""])})"
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  project      = var.project_id
  display_name = "giftengine ${var.environment} ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
}

resource "google_monitoring_alert_policy" "error_rate" {
  project               = var.project_id
  display_name          = "giftengine ${var.environment}: error rate > ${var.error_rate_threshold * 100}%"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.error_rate_threshold * 100}% of the requests of a giftengine function or service answered 5xx over 5 minutes. Pub/Sub redelivers failed pushes, so look at the function's logs and at the dead-letter subscription. Runbook: docs/deploy.md#when-an-alert-fires"
  }

  conditions {
    display_name = "5xx share of requests, per service"
    condition_threshold {
      filter             = "${local.run_service_filter} AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      denominator_filter = "${local.run_service_filter} AND metric.type = \"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.error_rate_threshold
      duration           = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }

      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }
}

resource "google_monitoring_alert_policy" "latency_p95" {
  project               = var.project_id
  display_name          = "giftengine ${var.environment}: p95 latency > ${var.latency_p95_threshold_ms} ms"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  documentation {
    mime_type = "text/markdown"
    content   = "The 95th percentile request latency of a giftengine function answering users or events (Scheduler jobs excluded) exceeded ${var.latency_p95_threshold_ms} ms over 5 minutes. Check cold starts (min instances), Firestore contention on hot documents and max_instance_count. Runbook: docs/deploy.md#when-an-alert-fires"
  }

  conditions {
    display_name = "p95 request latency, per service"
    condition_threshold {
      # Scheduler targets (wallet_jobs: a nightly reconcile of minutes) are left out.
      filter          = "${local.latency_filter} AND metric.type = \"run.googleapis.com/request_latencies\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.latency_p95_threshold_ms
      duration        = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
        group_by_fields      = ["resource.labels.service_name"]
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  count = length(local.dead_letter_subscriptions) > 0 ? 1 : 0

  project               = var.project_id
  display_name          = "giftengine ${var.environment}: dead-letter queue not empty"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  documentation {
    mime_type = "text/markdown"
    content   = "A message exhausted its delivery attempts and waits in a dead-letter subscription (${join(", ", local.dead_letter_subscriptions)}). Pull it with `gcloud pubsub subscriptions pull`, fix the cause, and republish it to its topic. Runbook: docs/deploy.md#when-an-alert-fires"
  }

  conditions {
    display_name = "undelivered messages in a dead-letter subscription"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.labels.subscription_id = one_of(${join(", ", [for s in local.dead_letter_subscriptions : "\"${s}\""])})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }
}

# The wallet's nightly reconciliation logs "ALERT wallet reconciliation found N mismatches"
# (wallet/service.py) when a balance differs from its ledger: docs/wallet.md promises an
# alert on it. A log-match condition fires on every such entry.
resource "google_monitoring_alert_policy" "wallet_reconciliation" {
  count = contains(keys(local.functions), "wallet_jobs") ? 1 : 0

  project               = var.project_id
  display_name          = "giftengine ${var.environment}: wallet reconciliation mismatch"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  documentation {
    mime_type = "text/markdown"
    content   = "The nightly wallet reconciliation recomputed a wallet from its ledger and found a different balance. The log entry names the wallets; nothing is corrected automatically. Runbook: docs/wallet.md (reconciliation) and docs/deploy.md#when-an-alert-fires"
  }

  conditions {
    display_name = "ALERT log entry of the wallet reconciliation"
    condition_matched_log {
      filter = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${local.functions["wallet_jobs"].name}\" AND textPayload:\"ALERT wallet reconciliation\""
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "3600s"
    }
    auto_close = "86400s"
  }
}
