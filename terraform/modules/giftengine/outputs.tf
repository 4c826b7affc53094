output "function_urls" {
  description = "Function name (manifest key) -> HTTPS URL."
  value       = { for key, f in google_cloudfunctions2_function.fn : key => f.url }
}

output "service_urls" {
  description = "Cloud Run service (manifest key) -> URL."
  value       = { for key, s in google_cloud_run_v2_service.service : key => s.uri }
}

output "service_accounts" {
  description = "Identity -> service account email (one per function and service, plus the platform's)."
  value = merge(
    { for id, sa in google_service_account.identity : id => sa.email },
    { for id, sa in google_service_account.platform : "ge-${id}" => sa.email },
  )
}

output "image_repository" {
  description = "Artifact Registry path for the worker image."
  value       = "${local.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "secret_ids" {
  description = "Secrets that need a version before the functions using them can start."
  value       = sort(tolist(local.secret_ids))
}

output "source_object" {
  description = "Content-addressed object holding the functions' source zip."
  value       = google_storage_bucket_object.functions_source.name
}
