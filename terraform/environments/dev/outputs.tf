output "function_urls" {
  value = module.giftengine.function_urls
}

output "service_urls" {
  value = module.giftengine.service_urls
}

output "service_accounts" {
  value = module.giftengine.service_accounts
}

output "image_repository" {
  value = module.giftengine.image_repository
}

output "secret_ids" {
  value = module.giftengine.secret_ids
}
