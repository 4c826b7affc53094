# Cloud Functions (gen2) for every function of the manifest, each built from the archive of
# its package (packages.tf): main.py, the giftengine modules its functions import and the
# package's own requirements.txt. The object name carries the archive's content hash:
# unchanged code keeps the same object, so no function of that package redeploys.

locals {
  function_env = merge(
    {
      GIFTENGINE_PROJECT  = var.project_id
      GIFTENGINE_REGION   = local.region
      GIFTENGINE_TASKS_SA = google_service_account.platform["tasks"].email
      LOG_EXECUTION_ID    = "true"
    },
    { for key, f in local.http_functions : "GIFTENGINE_URL_${upper(key)}" => f.url },
    local.wallet_env,
    var.extra_env,
  )

  # The wallet's production endpoints (wallet/settings.py defaults are the payment sandboxes
  # and localhost, right for the local cloud only). Return URLs point at the Hosting site
  # that serves the apps; gateways are live or sandbox by `payments_live`.
  site_url = coalesce(var.website_url, "https://${var.project_id}.web.app")
  wallet_env = {
    GIFTENGINE_WEBSITE_URL          = local.site_url
    GIFTENGINE_CHECKOUT_SUCCESS_URL = "${local.site_url}/wallet?checkout=success"
    GIFTENGINE_CHECKOUT_CANCEL_URL  = "${local.site_url}/wallet?checkout=cancel"
    ESEWA_SUCCESS_URL               = "${local.site_url}/wallet?esewa=success"
    ESEWA_FAILURE_URL               = "${local.site_url}/wallet?esewa=failure"
    KHALTI_RETURN_URL               = "${local.site_url}/wallet?khalti=return"
    ESEWA_PRODUCT_CODE              = var.esewa_product_code
    ESEWA_FORM_URL                  = var.payments_live ? "https://epay.esewa.com.np/api/epay/main/v2/form" : "https://rc-epay.esewa.com.np/api/epay/main/v2/form"
    KHALTI_API_BASE                 = var.payments_live ? "https://khalti.com/api/v2" : "https://dev.khalti.com/api/v2"
  }
}

data "archive_file" "package" {
  for_each = local.packages

  type        = "zip"
  output_path = "${path.root}/.build/functions-${each.key}.zip"

  dynamic "source" {
    for_each = toset(each.value.files)
    content {
      content  = file("${var.repo_root}/functions/${source.value}")
      filename = source.value
    }
  }

  source {
    content  = each.value.requirements
    filename = "requirements.txt"
  }
}

resource "google_storage_bucket_object" "package" {
  for_each = local.packages

  name   = "functions/${each.key}-${data.archive_file.package[each.key].output_sha256}.zip"
  bucket = google_storage_bucket.platform["function-source"].name
  source = data.archive_file.package[each.key].output_path
}

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.functions

  project     = var.project_id
  location    = local.region
  name        = each.value.name
  description = each.value.description
  labels      = local.labels

  build_config {
    # The Python the tests, the CLI and the worker image run (manifest `python_runtime`;
    # tests/infra/test_infra_deploy_truth.py checks it equals the test interpreter).
    # Supported Python runtimes: https://cloud.google.com/run/docs/runtimes/python
    runtime         = local.python_runtime
    entry_point     = each.value.entry_point
    service_account = google_service_account.platform["builder"].id
    source {
      storage_source {
        bucket = google_storage_bucket_object.package[local.function_package[each.key]].bucket
        object = google_storage_bucket_object.package[local.function_package[each.key]].name
      }
    }
  }

  service_config {
    # Measured per function (manifest `memory_mb`, docs/decisions/014-deploy-per-function-packages.md).
    available_memory               = "${each.value.memory_mb}Mi"
    timeout_seconds                = each.value.timeout_s
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

  lifecycle {
    precondition {
      condition     = contains(keys(local.function_package), each.key)
      error_message = "Function ${each.key} is in no package of build/packages/packages.json: run `giftengine packages`."
    }
    precondition {
      condition     = !(var.payments_live && var.esewa_product_code == "EPAYTEST")
      error_message = "payments_live needs the merchant's esewa_product_code, not the sandbox EPAYTEST."
    }
  }

  depends_on = [
    google_project_service.api,
    google_project_iam_member.builder,
    google_storage_bucket_iam_member.builder_source,
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
