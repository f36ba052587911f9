# Read by the release root (envs/<env>/release) through terraform_remote_state.
output "environment" {
  description = "Environment name."
  value       = var.environment
}

output "region" {
  description = "AWS region of the environment."
  value       = var.region
}

output "vpc_id" {
  description = "VPC ID (the Load Balancer Controller's vpcId)."
  value       = module.network.vpc_id
}

output "vpc_cidr" {
  description = "VPC CIDR (the appliance's network policies)."
  value       = module.network.vpc_cidr
}

output "nat_gateway_count" {
  description = "NAT gateways in the VPC."
  value       = module.network.nat_gateway_count
}

output "cluster_name" {
  description = "EKS cluster name."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "EKS API endpoint."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "EKS API CA bundle (base64)."
  value       = module.eks.cluster_certificate_authority_data
}

output "ebs_kms_key_arn" {
  description = "KMS key for the encrypted gp3 StorageClass."
  value       = module.eks.ebs_kms_key_arn
}

output "runner_node_selector" {
  description = "nodeSelector of the runner pods (spot node group label)."
  value       = module.eks.runner_node_selector
}

output "runner_tolerations" {
  description = "Tolerations of the runner pods (spot node group taint)."
  value       = module.eks.runner_tolerations
}

output "app_node_selector" {
  description = "nodeSelector of the appliance and platform pods."
  value       = module.eks.app_node_selector
}

output "repository_url" {
  description = "ECR repository of the appliance image."
  value       = module.registry.repository_url
}

output "database_identifier" {
  description = "The RDS instance the appliance uses (primary or restored)."
  value       = local.active_database.identifier
}

output "database_address" {
  description = "Host name of the database the appliance uses."
  value       = local.active_database.address
}

output "database_port" {
  description = "Port of the database."
  value       = local.active_database.port
}

output "database_name" {
  description = "Name of the tasks database."
  value       = local.active_database.database_name
}

output "database_username" {
  description = "Database user of the appliance."
  value       = local.active_database.master_username
}

output "database_secret_arn" {
  description = "RDS-managed Secrets Manager secret holding the database password."
  value       = local.active_database.master_user_secret_arn
  sensitive   = true
}

output "database_backup_retention_days" {
  description = "Point-in-time restore window of the database, days."
  value       = module.database.backup_retention_days
}

output "api_tokens_secret_arn" {
  description = "Secrets Manager secret holding the Task API tokens."
  value       = aws_secretsmanager_secret.api_tokens.arn
  sensitive   = true
}

output "grafana_admin_secret_arn" {
  description = "Secrets Manager secret holding the Grafana admin password."
  value       = aws_secretsmanager_secret.grafana_admin.arn
  sensitive   = true
}

output "budget_topic_arn" {
  description = "SNS topic of the budget alerts."
  value       = module.observability_cost.budget_topic_arn
}

output "trail_bucket" {
  description = "S3 bucket of the audit trail."
  value       = module.observability_cost.trail_bucket
}
