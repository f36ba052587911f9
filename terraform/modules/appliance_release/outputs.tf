output "namespace" {
  description = "Namespace of the appliance release."
  value       = helm_release.appliance.namespace
}

output "appliance_revision" {
  description = "Helm revision of the appliance release (helm rollback target)."
  value       = helm_release.appliance.metadata.revision
}

output "image" {
  description = "Image deployed."
  value       = "${var.image_repository}:${var.image_tag}"
}

output "secret_names" {
  description = "Kubernetes Secrets the chart mounts (existingSecret values)."
  value       = local.secret_names
}
