output "registry" {
  description = "Where cloudbuild.yaml pushes the worker image (REGION-docker.pkg.dev/OPS/giftengine)."
  value       = local.registry
}

output "deployer_service_account" {
  description = "The identity pipeline runs deploy as (gcloud builds submit --service-account)."
  value       = google_service_account.deployer.id
}

output "tf_state_bucket" {
  description = "Terraform state of every environment (prefix giftengine/<env>)."
  value       = google_storage_bucket.tfstate.name
}
