# Cloud Functions (gen2) for every function of the manifest, built from ONE zip of functions/
# (main.py + the giftengine package + requirements.txt). The object name carries the zip's
# content hash: unchanged code keeps the same object, so no function redeploys.

locals {
  # Never shipped: tests, caches, build metadata. tests/infra/test_function_source.py builds
  # the zip from this list and checks what is (not) in it.
  source_excludes = [
    "**/__pycache__/**",
    "**/*.pyc",
    "**/.pytest_cache/**",
    "**/.mypy_cache/**",
    "**/.ruff_cache/**",
    "**/.hypothesis/**",
    "**/tests/**",
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
    "**/*.egg-info/**",
    "**/.venv/**",
    "**/.DS_Store",
  ]

  function_env = merge(
    {
      GIFTENGINE_PROJECT  = var.project_id
      GIFTENGINE_REGION   = local.region
      GIFTENGINE_TASKS_SA = google_service_account.platform["tasks"].email
      LOG_EXECUTION_ID    = "true"
    },
    { for key, f in local.http_functions : "GIFTENGINE_URL_${upper(key)}" => f.url },
    var.extra_env,
  )
}

data "archive_file" "functions_source" {
  type        = "zip"
  source_dir  = "${var.repo_root}/functions"
  output_path = "${path.root}/.build/functions-source.zip"
  excludes    = local.source_excludes
}

resource "google_storage_bucket_object" "functions_source" {
  name   = "functions/source-${data.archive_file.functions_source.output_sha256}.zip"
  bucket = google_storage_bucket.platform["function-source"].name
  source = data.archive_file.functions_source.output_path
}

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.functions

  project     = var.project_id
  location    = local.region
  name        = each.value.name
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = each.value.entry_point
    service_account = google_service_account.platform["builder"].id
    source {
      storage_source {
        bucket = google_storage_bucket_object.functions_source.bucket
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    available_memory               = var.function_memory
    timeout_seconds                = lookup(var.function_timeouts, each.key, 60)
    min_instance_count             = 0
    max_instance_count             = var.function_max_instances
    ingress_settings               = each.value.public ? "ALLOW_ALL" : var.private_function_ingress
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.identity[each.value.identity].email
    environment_variables          = local.function_env

    dynamic "secret_environment_variables" {
      for_each = toset(each.value.secrets)
      content {
        key        = secret_environment_variables.value
        project_id = var.project_id
        secret     = google_secret_manager_secret.secret[secret_environment_variables.value].secret_id
        version    = "latest"
      }
    }
  }

  depends_on = [
    google_project_service.api,
    google_project_iam_member.builder,
    google_storage_bucket_iam_member.builder_reads_source,
    google_secret_manager_secret_iam_member.identity,
  ]
}

# Private functions: only the identities the manifest points at them may invoke them.
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = local.invokers

  project  = var.project_id
  location = local.region
  name     = google_cloudfunctions2_function.fn[each.value.function].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.platform[each.value.who].member
}

# Public functions (the HTTPS API): anyone may reach them; every request is authenticated in
# code with a Firebase ID token, which browsers and apps carry instead of an IAM token.
resource "google_cloud_run_v2_service_iam_member" "public" {
  for_each = local.public_functions

  project  = var.project_id
  location = local.region
  name     = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}
