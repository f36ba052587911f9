output "image" {
  description = "Image the appliance runs."
  value       = module.appliance_release.image
}

output "appliance_revision" {
  description = "Helm revision of the appliance release (for helm rollback)."
  value       = module.appliance_release.appliance_revision
}

output "namespace" {
  description = "Namespace of the appliance."
  value       = module.appliance_release.namespace
}

output "api_url" {
  description = "URL of the Task API."
  value       = "https://${var.api_host}"
}
