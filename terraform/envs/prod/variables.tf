variable "project" {
  description = "Project name: the first part of every resource name and the project cost allocation tag."
  type        = string
  default     = "appliance"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "project must be 2-21 lower-case letters, digits or hyphens."
  }
}

variable "environment" {
  description = "Environment name (environment cost allocation tag)."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "owner" {
  description = "Team owning the resources (owner cost allocation tag)."
  type        = string
  validation {
    condition     = length(var.owner) > 0
    error_message = "owner must not be empty."
  }
}

variable "cost_center" {
  description = "Cost center billed (cost-center cost allocation tag)."
  type        = string
  validation {
    condition     = length(var.cost_center) > 0
    error_message = "cost_center must not be empty."
  }
}

# --- Network ------------------------------------------------------------------------------------
variable "vpc_cidr" {
  description = "IPv4 /16 of the VPC."
  type        = string
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && endswith(var.vpc_cidr, "/16")
    error_message = "vpc_cidr must be a valid IPv4 /16 block."
  }
}

variable "availability_zones" {
  description = "The three availability zones used."
  type        = list(string)
  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "Exactly three availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway (dev) instead of one per AZ (prod)."
  type        = bool
}

# --- EKS ------------------------------------------------------------------------------------------
variable "kubernetes_version" {
  description = "EKS Kubernetes minor version (1.34 or newer)."
  type        = string
  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version)) && try(tonumber(split(".", var.kubernetes_version)[1]) >= 34, false)
    error_message = "kubernetes_version must be 1.34 or newer."
  }
}

variable "endpoint_public_access" {
  description = "Public API endpoint (restricted to public_access_cidrs) in addition to the private one."
  type        = bool
}

variable "public_access_cidrs" {
  description = "CIDRs allowed on the public API endpoint; never 0.0.0.0/0."
  type        = list(string)
  validation {
    condition     = alltrue([for c in var.public_access_cidrs : can(cidrhost(c, 0)) && !endswith(c, "/0")])
    error_message = "public_access_cidrs must be valid CIDRs without 0.0.0.0/0."
  }
}

variable "cluster_admin_arns" {
  description = "Extra IAM principals with cluster-admin (break-glass); the GitHub apply role is always added."
  type        = list(string)
  default     = []
}

variable "app_node_group" {
  description = "On-demand node group of the appliance and platform pods."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gib  = number
  })
}

variable "runner_node_group" {
  description = "Spot node group of the runner pods."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gib  = number
  })
}

# --- Database -------------------------------------------------------------------------------------
variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  validation {
    condition     = can(regex("^db\\.", var.db_instance_class))
    error_message = "db_instance_class must start with db."
  }
}

variable "db_allocated_storage_gib" {
  description = "Initial gp3 storage of the database, GiB."
  type        = number
  validation {
    condition     = var.db_allocated_storage_gib >= 20
    error_message = "At least 20 GiB."
  }
}

variable "db_max_allocated_storage_gib" {
  description = "Storage autoscaling limit of the database, GiB."
  type        = number
  validation {
    condition     = var.db_max_allocated_storage_gib >= var.db_allocated_storage_gib
    error_message = "db_max_allocated_storage_gib must be at least db_allocated_storage_gib."
  }
}

variable "db_backup_retention_days" {
  description = "Automated backup retention (point-in-time restore window), days."
  type        = number
  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "Between 1 and 35 days."
  }
}

variable "db_backup_window" {
  description = "Daily backup window, UTC (hh24:mi-hh24:mi)."
  type        = string
}

variable "db_maintenance_window" {
  description = "Weekly maintenance window, UTC (ddd:hh24:mi-ddd:hh24:mi)."
  type        = string
}

variable "db_multi_az" {
  description = "Multi-AZ standby."
  type        = bool
}

variable "db_final_snapshot" {
  description = "Final snapshot on destroy."
  type        = bool
}

variable "database_restore" {
  description = "Point-in-time restore of the database into a new instance <project>-<env>-<suffix> (docs/operations.md); null when none."
  type = object({
    suffix                     = string
    restore_time               = optional(string)
    use_latest_restorable_time = optional(bool, false)
  })
  default = null
  validation {
    condition     = var.database_restore == null || can(regex("^[a-z0-9-]{1,20}$", try(var.database_restore.suffix, "")))
    error_message = "database_restore.suffix must be 1-20 lower-case letters, digits or hyphens."
  }
}

variable "database_active" {
  description = "Which instance the appliance uses: primary, or restored (the database_restore instance)."
  type        = string
  default     = "primary"
  validation {
    condition     = contains(["primary", "restored"], var.database_active)
    error_message = "database_active must be primary or restored."
  }
}

# --- Logs, audit, cost ------------------------------------------------------------------------
variable "log_retention_days" {
  description = "Retention of the EKS, RDS and flow log groups, days."
  type        = number
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget of the environment, USD."
  type        = number
  validation {
    condition     = var.monthly_budget_usd > 0
    error_message = "monthly_budget_usd must be positive."
  }
}

variable "budget_alert_emails" {
  description = "Who receives the budget alerts."
  type        = list(string)
  validation {
    condition     = length(var.budget_alert_emails) > 0
    error_message = "At least one address."
  }
}

variable "activate_cost_allocation_tags" {
  description = "Activate the cost allocation tags (payer account only)."
  type        = bool
  default     = true
}

variable "trail_glacier_after_days" {
  description = "Days before audit log files move to Glacier."
  type        = number
}

variable "trail_expire_after_days" {
  description = "Days before audit log files are deleted."
  type        = number
}

# --- Registry ------------------------------------------------------------------------------------
variable "ecr_keep_releases" {
  description = "Release images (v*) kept in the registry."
  type        = number
}

variable "ecr_untagged_expiry_days" {
  description = "Days before untagged images expire."
  type        = number
}
