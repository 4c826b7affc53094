variable "ops_project_id" {
  description = "Project that runs Cloud Build, holds the Terraform state and the image registry. May be the dev project for a one-project setup."
  type        = string
}

variable "region" {
  description = "Region of the registry, the state bucket and the triggers' deploys."
  type        = string
  default     = "us-central1"
}

variable "environments" {
  description = "Each environment's project and monthly budget in USD. Keys are the envs/<key>.tfvars of terraform/environment."
  type = map(object({
    project_id = string
    budget_usd = number
  }))

  validation {
    condition     = alltrue([for k in keys(var.environments) : contains(["dev", "prod"], k)])
    error_message = "Environments are dev and prod (cloudbuild.yaml promotes dev's image to prod)."
  }
}

variable "billing_account" {
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) the budgets watch; empty creates no budget."
  type        = string
  default     = ""
}

variable "github_owner" {
  description = "GitHub owner of the repository (connected once to Cloud Build in the console)."
  type        = string
  default     = ""
}

variable "github_repo" {
  description = "GitHub repository name; empty creates no trigger (run builds by hand)."
  type        = string
  default     = ""
}
