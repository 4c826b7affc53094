variable "project_id" {
  description = "GCP project of this environment."
  type        = string
}

variable "region" {
  description = "Region; null takes the manifest's region."
  type        = string
  default     = null
}

variable "worker_image" {
  description = "Worker image built by cloudbuild.yaml (REGION-docker.pkg.dev/PROJECT/giftengine/worker:SHA)."
  type        = string
  default     = ""
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

variable "github_owner" {
  description = "GitHub owner of the repository Cloud Build watches (connected once in the console)."
  type        = string
  default     = ""
}

variable "github_repo" {
  description = "GitHub repository name Cloud Build watches; empty creates no trigger."
  type        = string
  default     = ""
}

variable "deployer_service_account" {
  description = "Email of the service account Cloud Build runs the pipeline as (created at bootstrap)."
  type        = string
  default     = ""
}

variable "tf_state_bucket" {
  description = "GCS bucket holding Terraform state (created at bootstrap)."
  type        = string
  default     = ""
}
