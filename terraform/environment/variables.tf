variable "project_id" {
  description = "GCP project of this environment (cloudbuild.yaml passes _PROJECT)."
  type        = string
}

variable "environment" {
  description = "dev or prod (envs/<env>.tfvars)."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment is dev or prod."
  }
}

variable "region" {
  description = "Region; null takes the manifest's region."
  type        = string
  default     = null
}

variable "worker_image" {
  description = "Worker image by digest (REGION-docker.pkg.dev/OPS/giftengine/worker@sha256:...), built once by cloudbuild.yaml."
  type        = string
  default     = ""
}

variable "deletion_protection" {
  description = "Protect the Firestore database and buckets from destroy."
  type        = bool
}

variable "alert_emails" {
  description = "Who is told when an alert policy fires."
  type        = list(string)
  default     = []
}

variable "extra_env" {
  description = "Tuning knobs for every function (GIFTENGINE_* from giftengine/config.py)."
  type        = map(string)
  default     = {}
}

variable "website_url" {
  description = "Origin of the web apps; null = https://PROJECT.web.app (Firebase Hosting)."
  type        = string
  default     = null
}

variable "payments_live" {
  description = "Live eSewa/Khalti endpoints instead of their sandboxes."
  type        = bool
}

variable "esewa_product_code" {
  description = "eSewa merchant product code (EPAYTEST is the sandbox's)."
  type        = string
  default     = "EPAYTEST"
}
