output "state_bucket" {
  description = "State bucket (backend.tf of envs/<env> and envs/<env>/release)."
  value       = aws_s3_bucket.state.id
}

output "state_kms_key_arn" {
  description = "KMS key encrypting the state."
  value       = aws_kms_key.state.arn
}

output "plan_role_arn" {
  description = "Set as AWS_PLAN_ROLE_ARN in the GitHub environment's variables."
  value       = module.github_oidc.plan_role_arn
}

output "apply_role_arn" {
  description = "Set as AWS_APPLY_ROLE_ARN in the GitHub environment's variables."
  value       = module.github_oidc.apply_role_arn
}

output "image_push_role_arn" {
  description = "Set as AWS_IMAGE_PUSH_ROLE_ARN in the image-push GitHub environment's variables."
  value       = module.github_oidc.image_push_role_arn
}

output "workload_boundary_arn" {
  description = "Permissions boundary for every role the environment's roots create (permissions_boundary_arn in its terraform.tfvars)."
  value       = module.github_oidc.workload_boundary_arn
}
