# prod: us-west-2, the seed's sizes; highly available (NAT per AZ, Multi-AZ database).
environment = "prod"
region      = "us-west-2"
owner       = "platform-team"
cost_center = "engineering"

vpc_cidr           = "10.20.0.0/16"
availability_zones = ["us-west-2a", "us-west-2b", "us-west-2c"]
single_nat_gateway = false

kubernetes_version     = "1.34"
endpoint_public_access = true
# The office VPN egress (placeholder: documentation range).
public_access_cidrs = ["203.0.113.0/24"]

app_node_group = {
  instance_types = ["t3.medium", "t3.large"]
  min_size       = 3
  max_size       = 20
  desired_size   = 3
  disk_size_gib  = 50
}

runner_node_group = {
  instance_types = ["t3.large", "t3a.large", "m5.large", "m5a.large", "m6i.large", "m6a.large"]
  min_size       = 0
  max_size       = 10
  desired_size   = 0
  disk_size_gib  = 50
}

db_instance_class            = "db.t3.small"
db_allocated_storage_gib     = 50
db_max_allocated_storage_gib = 200
db_backup_retention_days     = 14
db_backup_window             = "09:00-10:00"
db_maintenance_window        = "sun:10:30-sun:11:30"
db_multi_az                  = true
db_final_snapshot            = true

log_retention_days       = 90
monthly_budget_usd       = 1500
budget_alert_emails      = ["platform-team@example.com", "finance@example.com"]
trail_glacier_after_days = 90
trail_expire_after_days  = 2555

ecr_keep_releases        = 50
ecr_untagged_expiry_days = 7
