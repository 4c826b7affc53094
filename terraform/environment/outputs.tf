output "function_urls" {
  value = module.giftengine.function_urls
}

output "service_urls" {
  value = module.giftengine.service_urls
}

output "service_accounts" {
  value = module.giftengine.service_accounts
}

output "worker_image" {
  value = module.giftengine.worker_image
}

output "site_url" {
  value = module.giftengine.site_url
}

output "secret_ids" {
  value = module.giftengine.secret_ids
}
