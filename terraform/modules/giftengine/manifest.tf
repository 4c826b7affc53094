# Everything deployable is named in functions/giftengine/manifest.yaml, the same file the
# local cloud (`giftengine dev up`) is built from. This file only reads and normalises it;
# every resource of a manifest kind is a for_each over one of these maps, so a name exists
# in both worlds or in neither (tests/infra/test_manifest_mapping.py proves it).
#
# This file declares no provider resource on purpose: tests evaluate these locals with
# `terraform console` offline, where the Google provider cannot be downloaded.

locals {
  manifest = yamldecode(file(var.manifest_path))

  # merge() turns a missing key, an empty YAML mapping (null) and a mapping alike into a map.
  raw_functions     = merge({}, try(local.manifest.functions, {}))
  raw_services      = merge({}, try(local.manifest.services, {}))
  raw_schedules     = merge({}, try(local.manifest.schedules, {}))
  raw_subscriptions = merge({}, try(local.manifest.subscriptions, {}))
  raw_queues        = merge({}, try(local.manifest.queues, {}))
  raw_buckets       = merge({}, try(local.manifest.buckets, {}))

  region = coalesce(var.region, local.manifest.region)

  # The Python of every deployable: the functions' runtime id (python311) and the worker
  # image's base (python:3.11-slim) both come from the manifest's `python_runtime`.
  python_runtime = try(local.manifest.python_runtime, "python311")

  # key -> topic name
  topics = { for key, name in merge({}, try(local.manifest.topics, {})) : key => tostring(name) }

  # Cloud Functions and Cloud Run names allow no underscore: `on_engagement` deploys as
  # `on-engagement`. Its identity is `fn-on-engagement`.
  functions = {
    for key, f in local.raw_functions : key => {
      name        = replace(key, "_", "-")
      entry_point = f.entry_point
      trigger     = f.trigger
      topic       = try(f.topic, null)
      public      = try(f.public, false)
      description = try(f.description, "")
      roles       = try(tolist(f.roles), tolist([]))
      secrets     = try(tolist(f.secrets), tolist([]))
      identity    = "fn-${replace(key, "_", "-")}"
      # Memory measured per function (helper "arch" writes `memory_mb`); 256 MiB until then.
      memory_mb = try(f.memory_mb, 256)
      # Timeout: the manifest's `timeout_s`, else the module variable, else 60 s.
      timeout_s = try(f.timeout_s, lookup(var.function_timeouts, key, 60))
      # Predictable gen2 URL: lets functions know each other's URLs without a dependency cycle.
      url = "https://${local.region}-${var.project_id}.cloudfunctions.net/${replace(key, "_", "-")}"
    }
  }

  http_functions = { for key, f in local.functions : key => f if f.trigger == "http" }

  # Batch jobs (Scheduler targets) run for minutes by design: the p95 latency alert watches
  # only the functions that answer users and events.
  scheduled_functions   = toset([for key, j in local.raw_schedules : j.target])
  latency_watched_names = [for key, f in local.functions : f.name if !contains(local.scheduled_functions, key)]

  services = {
    for key, s in local.raw_services : key => {
      name          = replace(key, "_", "-")
      command       = tolist(s.command)
      description   = try(s.description, "")
      roles         = try(tolist(s.roles), tolist([]))
      secrets       = try(tolist(s.secrets), tolist([]))
      min_instances = try(s.min_instances, 0)
      max_instances = try(s.max_instances, 10)
      identity      = "run-${replace(key, "_", "-")}"
      # The function that sets the instance count (manual scaling), if any.
      scaled_by = try(s.scaled_by, null)
    }
  }

  scaled_services = { for key, s in local.services : key => s if s.scaled_by != null }

  schedules = {
    for key, j in local.raw_schedules : key => {
      cron   = j.cron
      target = j.target
      # Cloud Scheduler waits for the target at least as long as the function may run
      # (attempt deadline: 15 s to 30 min for HTTP targets), plus 30 s for a cold start.
      attempt_deadline_s = min(1800, max(15, try(local.raw_functions[j.target].timeout_s, lookup(var.function_timeouts, j.target, 60)) + 30))
      path               = try(j.path, "/")
      description        = try(j.description, "")
      time_zone          = try(j.time_zone, "Etc/UTC")
    }
  }

  subscriptions = {
    for key, s in local.raw_subscriptions : key => {
      topic                 = s.topic
      topic_name            = local.topics[s.topic]
      push_to               = try(s.push_to, null)
      ack_deadline_seconds  = try(s.ack_deadline_seconds, 60)
      dead_letter_topic     = try(s.dead_letter_topic, null)
      max_delivery_attempts = try(s.max_delivery_attempts, null)
      # Optional Pub/Sub filter, e.g. attributes.kind = "comment": filtered-out messages are
      # acked by Pub/Sub without invoking the function.
      filter = try(s.filter, null)
    }
  }

  queues = {
    for key, q in local.raw_queues : key => {
      target                    = q.target
      max_dispatches_per_second = try(q.max_dispatches_per_second, 500)
      max_attempts              = try(q.max_attempts, 100)
    }
  }

  buckets = {
    for key, b in local.raw_buckets : key => {
      name    = "${var.project_id}-${replace(key, "_", "-")}"
      purpose = try(b.purpose, "")
      # The manifest's `retention_days: null` keeps objects (overlay media); absent: the default.
      retention_days = contains(keys(b), "retention_days") ? b.retention_days : var.bucket_retention_days
    }
  }

  # One service account per function and per service, holding only the roles the manifest
  # gives it.
  identities = merge(
    { for key, f in local.functions : f.identity => { kind = "function", key = key, roles = f.roles, secrets = f.secrets } },
    { for key, s in local.services : s.identity => { kind = "service", key = key, roles = s.roles, secrets = s.secrets } },
  )

  identity_roles = {
    for pair in distinct(flatten([
      for id, i in local.identities : [for role in i.roles : { identity = id, role = role }]
    ])) : "${pair.identity}/${pair.role}" => pair
  }

  secret_ids = toset(flatten([for id, i in local.identities : i.secrets]))

  identity_secrets = {
    for pair in distinct(flatten([
      for id, i in local.identities : [for s in i.secrets : { identity = id, secret = s }]
    ])) : "${pair.identity}/${pair.secret}" => pair
  }

  # Identities that create Cloud Tasks must be allowed to mint the queue's OIDC identity.
  task_enqueuers = toset([for id, i in local.identities : id if contains(i.roles, "roles/cloudtasks.enqueuer")])

  # Who may invoke which private function: Pub/Sub push, Cloud Tasks and Scheduler
  # identities, each only on the functions the manifest points it at. Public functions
  # (end users with Firebase ID tokens, checked in code) are open to allUsers.
  # (Several schedules or queues may share a target: one grant per function and identity.)
  invoker_pairs = distinct(concat(
    [for key, s in local.subscriptions : { function = s.push_to, who = "pubsub-push" } if s.push_to != null],
    [for key, q in local.queues : { function = q.target, who = "tasks" }],
    [for key, j in local.schedules : { function = j.target, who = "scheduler" }],
  ))
  invokers         = { for p in local.invoker_pairs : "${p.function}/${p.who}" => p }
  public_functions = { for key, f in local.http_functions : key => f if f.public }

  # Dead-letter topics and the subscriptions that drain them (watched by the DLQ alert).
  dead_letter_topics        = toset(compact([for key, s in local.subscriptions : s.dead_letter_topic]))
  dead_letter_subscriptions = toset([for key, s in local.subscriptions : key if contains(local.dead_letter_topics, s.topic)])
  subscriptions_with_dlq    = { for key, s in local.subscriptions : key => s if s.dead_letter_topic != null }
}
