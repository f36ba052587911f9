# dev: us-east-1, the seed's sizes; cheap where availability allows (one NAT, no Multi-AZ).
environment = "dev"
region      = "us-east-1"
owner       = "platform-team"
cost_center = "engineering"

vpc_cidr           = "10.10.0.0/16"
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
single_nat_gateway = true

kubernetes_version     = "1.34"
endpoint_public_access = true
# The office VPN egress (placeholder: documentation range). GitHub-hosted runners reach the
# endpoint only while applying the platform, which needs no Kubernetes API access.
public_access_cidrs = ["203.0.113.0/24"]

app_node_group = {
  instance_types = ["t3.medium"]
  min_size       = 1
  max_size       = 3
  desired_size   = 2
  disk_size_gib  = 30
}

runner_node_group = {
  instance_types = ["t3.large", "t3a.large", "m5.large", "m5a.large", "m6i.large"]
  min_size       = 0
  max_size       = 3
  desired_size   = 0
  disk_size_gib  = 50
}

db_instance_class            = "db.t3.micro"
db_allocated_storage_gib     = 20
db_max_allocated_storage_gib = 50
db_backup_retention_days     = 3
db_backup_window             = "07:00-08:00"
db_maintenance_window        = "sun:08:30-sun:09:30"
db_multi_az                  = false
db_final_snapshot            = false

log_retention_days       = 30
monthly_budget_usd       = 400
budget_alert_emails      = ["platform-team@example.com"]
trail_glacier_after_days = 90
trail_expire_after_days  = 365

ecr_keep_releases        = 20
ecr_untagged_expiry_days = 7
