# Topics and subscriptions of the manifest, by the same names the local cloud uses.
#
# A subscription with `push_to` is a push subscription to that function's URL with an OIDC
# token of the `pubsub-push` identity, the manifest's ack deadline and dead-letter policy
# (docs/decisions/010-deploy-push-subscriptions.md says why not an Eventarc trigger).

resource "google_pubsub_topic" "topic" {
  for_each = local.topics

  project                    = var.project_id
  name                       = each.value
  labels                     = local.labels
  message_retention_duration = "86400s"

  depends_on = [google_project_service.api]
}

resource "google_pubsub_subscription" "subscription" {
  for_each = local.subscriptions

  project = var.project_id
  name    = each.key
  topic   = google_pubsub_topic.topic[each.value.topic].id
  labels  = local.labels

  ack_deadline_seconds       = each.value.ack_deadline_seconds
  filter                     = each.value.filter
  message_retention_duration = "604800s"

  # Never expire: an idle stream is not a reason to drop the wiring.
  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "1s"
    maximum_backoff = "600s"
  }

  dynamic "push_config" {
    for_each = each.value.push_to == null ? [] : [each.value.push_to]
    content {
      # functions-framework turns a raw push body into a messagePublished CloudEvent and
      # takes the topic from the request path, exactly as in the local cloud.
      push_endpoint = "${google_cloudfunctions2_function.fn[push_config.value].service_config[0].uri}/${google_pubsub_topic.topic[each.value.topic].id}"
      oidc_token {
        service_account_email = google_service_account.platform["pubsub-push"].email
        audience              = google_cloudfunctions2_function.fn[push_config.value].service_config[0].uri
      }
    }
  }

  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter_topic == null ? [] : [each.value.dead_letter_topic]
    content {
      dead_letter_topic     = google_pubsub_topic.topic[dead_letter_policy.value].id
      max_delivery_attempts = coalesce(each.value.max_delivery_attempts, 5)
    }
  }
}

# Dead-lettering: the Pub/Sub service agent publishes to the dead-letter topic and acks the
# source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.dead_letter_topics

  project = var.project_id
  topic   = google_pubsub_topic.topic[each.value].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = local.subscriptions_with_dlq

  project      = var.project_id
  subscription = google_pubsub_subscription.subscription[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
