output "provider_arn" {
  description = "ARN of the account's GitHub OIDC provider."
  value       = local.provider_arn
}

output "plan_role_arn" {
  description = "Role for terraform plan on pull requests (AWS_PLAN_ROLE_ARN of the GitHub environment)."
  value       = aws_iam_role.plan.arn
}

output "apply_role_arn" {
  description = "Role for terraform apply from the GitHub environment (AWS_APPLY_ROLE_ARN)."
  value       = aws_iam_role.apply.arn
}

output "image_push_role_arn" {
  description = "Role for pushing images to ECR (AWS_IMAGE_PUSH_ROLE_ARN)."
  value       = aws_iam_role.image_push.arn
}

output "workload_boundary_arn" {
  description = "Permissions boundary every role of the environment's roots must carry."
  value       = aws_iam_policy.workload_boundary.arn
}

output "subjects" {
  description = "The exact OIDC sub claims each role trusts."
  value       = local.subjects
}
