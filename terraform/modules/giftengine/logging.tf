# The gift pipeline's request logs (issue 18, decision 042). The platform writes one request
# log entry (~1 KB) per invocation; a quiet stream's gift is one `on_engagement` request, so
# that entry cost about half a dollar per million gifts, more than its Pub/Sub messages.
# Successful requests of the pipeline's push and task targets are excluded from the _Default
# sink (excluded entries are not ingested, so not billed); failures (status >= 400) stay, and
# so do the functions' own log lines and the request metrics the alerts of monitoring.tf use.

locals {
  quiet_request_log_functions = [for key in ["on_engagement", "rollup"] : local.functions[key].name]
}

resource "google_logging_project_exclusion" "pipeline_request_logs" {
  project     = var.project_id
  name        = "giftengine-pipeline-request-logs"
  description = "Successful request logs of the gift pipeline's push and task targets (docs/deploy.md, Costs)."
  filter = join(" AND ", [
    "resource.type = \"cloud_run_revision\"",
    "log_id(\"run.googleapis.com/requests\")",
    "(${join(" OR ", [for n in local.quiet_request_log_functions : "resource.labels.service_name = \"${n}\""])})",
    "httpRequest.status < 400",
  ])
}
