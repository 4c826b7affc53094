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

output "worker_image" {
  description = "The worker image deployed (built once in the ops registry, promoted by digest)."
  value       = var.worker_image
}

output "site_url" {
  description = "Origin of the web apps (Firebase Hosting) and of the payment return URLs."
  value       = local.site_url
}

output "secret_ids" {
  description = "Secrets that need a version before the functions using them can start."
  value       = sort(tolist(local.secret_ids))
}

output "source_objects" {
  description = "Package -> content-addressed object holding its functions' archive."
  value       = { for k, o in google_storage_bucket_object.package : k => o.name }
}
