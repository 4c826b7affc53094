variable "project_id" {
  description = "GCP project that hosts one environment of giftengine."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, prod): labels and alert names."
  type        = string
}

variable "region" {
  description = "Region for every regional resource; null takes the manifest's `region`."
  type        = string
  default     = null
}

variable "manifest_path" {
  description = "Path of functions/giftengine/manifest.yaml, the one list of deployable names."
  type        = string
}

variable "repo_root" {
  description = "Repository root: functions/ is zipped from here; firebase.json names the Firestore rules and indexes."
  type        = string
}

variable "packages_dir" {
  description = "Where `giftengine packages` wrote packages.json and requirements/; null = REPO/build/packages."
  type        = string
  default     = null
}

variable "firestore_location" {
  description = "Firestore database location (e.g. nam5, eur3 or a region); null uses the region."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Protect the Firestore database and buckets from `terraform destroy` (true for prod)."
  type        = bool
  default     = true
}

variable "worker_image" {
  description = "Container image of the Cloud Run services (the ingest worker), built by cloudbuild.yaml. Required when the manifest has services."
  type        = string
  default     = ""
}

variable "website_url" {
  description = "Origin of the apps (payment return URLs); null = the project's default Firebase Hosting site https://PROJECT.web.app."
  type        = string
  default     = null
}

variable "payments_live" {
  description = "Live payment gateways (eSewa, Khalti production endpoints) instead of their sandboxes. Stripe follows its key (sk_live_ / sk_test_)."
  type        = bool
  default     = false
}

variable "esewa_product_code" {
  description = "eSewa merchant product code; EPAYTEST is eSewa's sandbox code and is refused when payments_live."
  type        = string
  default     = "EPAYTEST"

  validation {
    condition     = length(var.esewa_product_code) > 0
    error_message = "esewa_product_code must not be empty."
  }
}

variable "function_max_instances" {
  description = "Upper bound of instances per function (cost guard; see docs/deploy.md for sizing)."
  type        = number
  default     = 100
}

variable "function_timeouts" {
  description = "Per-function timeout override in seconds (manifest key -> seconds); the manifest's `timeout_s` wins, others get 60."
  type        = map(number)
  default     = {}
}

variable "private_function_ingress" {
  description = "Ingress of non-public functions. Pub/Sub push, Cloud Tasks and Scheduler of the same project count as internal traffic."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"
}

variable "bucket_retention_days" {
  description = "Objects in manifest buckets (exports) are deleted after this many days; a bucket whose manifest entry sets retention_days uses that (null: kept, the overlay media)."
  type        = number
  default     = 90
}

variable "access_log_retention_days" {
  description = "Bucket access logs are kept this many days."
  type        = number
  default     = 30
}

variable "alert_emails" {
  description = "Email addresses notified by the alert policies."
  type        = list(string)
  default     = []
}

variable "error_rate_threshold" {
  description = "Alert when the share of 5xx responses of a function or service exceeds this (0.01 = 1%)."
  type        = number
  default     = 0.01
}

variable "latency_p95_threshold_ms" {
  description = "Alert when the p95 request latency of a function or service exceeds this many milliseconds."
  type        = number
  default     = 500
}

variable "extra_env" {
  description = "Extra environment variables for every function and service (tuning knobs from giftengine/config.py)."
  type        = map(string)
  default     = {}
}
