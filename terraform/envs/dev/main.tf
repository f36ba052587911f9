# The platform of one environment: network, EKS, RDS, registry, logs/audit/cost, and the
# application's secrets in Secrets Manager. AWS provider only, so it validates offline and
# applies from a GitHub-hosted runner (it creates and replaces the cluster the self-hosted
# runners live on). The Helm releases are the separate root ./release.
locals {
  name         = "${var.project}-${var.environment}"
  cluster_name = local.name
}

# Created by terraform/bootstrap (an administrator applies it once).
data "aws_iam_policy" "workload_boundary" {
  name = "${local.name}-workload-boundary"
}

data "aws_iam_role" "github_apply" {
  name = "github-${local.name}-apply"
}

data "aws_iam_role" "github_image_push" {
  name = "github-${local.name}-image-push"
}

module "observability_cost" {
  source = "../../modules/observability_cost"

  name                          = local.name
  environment                   = var.environment
  monthly_budget_usd            = var.monthly_budget_usd
  budget_alert_emails           = var.budget_alert_emails
  activate_cost_allocation_tags = var.activate_cost_allocation_tags
  trail_bucket_name             = "${local.name}-audit-trail-${var.region}"
  trail_glacier_after_days      = var.trail_glacier_after_days
  trail_expire_after_days       = var.trail_expire_after_days
}

module "network" {
  source = "../../modules/network"

  name                     = local.name
  cidr                     = var.vpc_cidr
  azs                      = var.availability_zones
  single_nat_gateway       = var.single_nat_gateway
  cluster_name             = local.cluster_name
  flow_log_retention_days  = var.log_retention_days
  log_kms_key_arn          = module.observability_cost.kms_key_arn
  permissions_boundary_arn = data.aws_iam_policy.workload_boundary.arn
}

module "eks" {
  source = "../../modules/eks"

  name                     = local.cluster_name
  kubernetes_version       = var.kubernetes_version
  vpc_id                   = module.network.vpc_id
  private_subnet_ids       = module.network.private_subnet_ids
  endpoint_public_access   = var.endpoint_public_access
  public_access_cidrs      = var.public_access_cidrs
  cluster_admin_arns       = distinct(concat([data.aws_iam_role.github_apply.arn], var.cluster_admin_arns))
  log_retention_days       = var.log_retention_days
  log_kms_key_arn          = module.observability_cost.kms_key_arn
  app_node_group           = var.app_node_group
  runner_node_group        = var.runner_node_group
  permissions_boundary_arn = data.aws_iam_policy.workload_boundary.arn
}

module "database" {
  source = "../../modules/database"

  identifier                = local.name
  vpc_id                    = module.network.vpc_id
  database_subnet_ids       = module.network.database_subnet_ids
  client_security_group_id  = module.eks.cluster_security_group_id
  instance_class            = var.db_instance_class
  allocated_storage_gib     = var.db_allocated_storage_gib
  max_allocated_storage_gib = var.db_max_allocated_storage_gib
  backup_retention_days     = var.db_backup_retention_days
  backup_window             = var.db_backup_window
  maintenance_window        = var.db_maintenance_window
  multi_az                  = var.db_multi_az
  final_snapshot            = var.db_final_snapshot
  log_retention_days        = var.log_retention_days
  log_kms_key_arn           = module.observability_cost.kms_key_arn
  permissions_boundary_arn  = data.aws_iam_policy.workload_boundary.arn
}

# Point-in-time restore into a new instance next to the primary (docs/operations.md).
module "database_restore" {
  source = "../../modules/database"
  count  = var.database_restore == null ? 0 : 1

  identifier                = "${local.name}-${var.database_restore.suffix}"
  vpc_id                    = module.network.vpc_id
  database_subnet_ids       = module.network.database_subnet_ids
  client_security_group_id  = module.eks.cluster_security_group_id
  instance_class            = var.db_instance_class
  allocated_storage_gib     = var.db_allocated_storage_gib
  max_allocated_storage_gib = var.db_max_allocated_storage_gib
  backup_retention_days     = var.db_backup_retention_days
  backup_window             = var.db_backup_window
  maintenance_window        = var.db_maintenance_window
  multi_az                  = var.db_multi_az
  final_snapshot            = var.db_final_snapshot
  log_retention_days        = var.log_retention_days
  log_kms_key_arn           = module.observability_cost.kms_key_arn
  permissions_boundary_arn  = data.aws_iam_policy.workload_boundary.arn
  restore_to_point_in_time = {
    source_db_instance_identifier = module.database.identifier
    restore_time                  = var.database_restore.restore_time
    use_latest_restorable_time    = var.database_restore.use_latest_restorable_time
  }
}

module "registry" {
  source = "../../modules/registry"

  name                 = var.project
  keep_releases        = var.ecr_keep_releases
  untagged_expiry_days = var.ecr_untagged_expiry_days
  push_role_arns       = [data.aws_iam_role.github_image_push.arn]
}

locals {
  active_database = var.database_active == "restored" ? module.database_restore[0] : module.database
}

check "restored_database_exists" {
  assert {
    condition     = var.database_active == "primary" || var.database_restore != null
    error_message = "database_active = \"restored\" needs database_restore set."
  }
}
