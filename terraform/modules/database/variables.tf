variable "identifier" {
  description = "RDS instance identifier (project-environment)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,60}$", var.identifier))
    error_message = "identifier must be 3-61 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "database_subnet_ids" {
  description = "Isolated database subnets (at least two AZs)."
  type        = list(string)
  validation {
    condition     = length(var.database_subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two AZs."
  }
}

variable "client_security_group_id" {
  description = "The only security group admitted on 5432 (the EKS cluster security group of the nodes)."
  type        = string
}

variable "engine_major_version" {
  description = "PostgreSQL major version (minor versions upgrade automatically in the maintenance window)."
  type        = string
  default     = "15"
  validation {
    condition     = contains(["15", "16", "17"], var.engine_major_version)
    error_message = "engine_major_version must be 15, 16 or 17."
  }
}

variable "instance_class" {
  description = "Instance class (db.t3.micro dev, db.t3.small prod)."
  type        = string
  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like db.t3.micro."
  }
}

variable "allocated_storage_gib" {
  description = "Initial gp3 storage in GiB."
  type        = number
  validation {
    condition     = var.allocated_storage_gib >= 20 && var.allocated_storage_gib <= 65536
    error_message = "allocated_storage_gib must be between 20 and 65536."
  }
}

variable "max_allocated_storage_gib" {
  description = "Upper bound of storage autoscaling in GiB."
  type        = number
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time restore window)."
  type        = number
  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35 (0 would disable backups)."
  }
}

variable "backup_window" {
  description = "Daily backup window, UTC (hh24:mi-hh24:mi)."
  type        = string
  validation {
    condition     = can(regex("^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$", var.backup_window))
    error_message = "backup_window must be hh24:mi-hh24:mi."
  }
}

variable "maintenance_window" {
  description = "Weekly maintenance window, UTC (ddd:hh24:mi-ddd:hh24:mi), not overlapping the backup window."
  type        = string
}

variable "multi_az" {
  description = "Synchronous standby in another AZ (prod)."
  type        = bool
}

variable "final_snapshot" {
  description = "Take a final snapshot when the instance is destroyed (prod)."
  type        = bool
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
  default     = true
}

variable "database_name" {
  description = "Name of the tasks database."
  type        = string
  default     = "tasks"
}

variable "master_username" {
  description = "Master user name; its password is generated and rotated by RDS in Secrets Manager."
  type        = string
  default     = "appliance"
}

variable "performance_insights_retention_days" {
  description = "Performance Insights retention (7 is free; otherwise a multiple of 31 up to 731)."
  type        = number
  default     = 7
}

variable "log_retention_days" {
  description = "Retention of the exported PostgreSQL logs, in days."
  type        = number
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the exported log groups."
  type        = string
}

variable "restore_to_point_in_time" {
  description = "Create this instance as a point-in-time restore of another (docs/operations.md). null for a new, empty database."
  type = object({
    source_db_instance_identifier = string
    restore_time                  = optional(string)
    use_latest_restorable_time    = optional(bool, false)
  })
  default = null
  validation {
    condition     = var.restore_to_point_in_time == null || (try(var.restore_to_point_in_time.restore_time, null) != null) != try(var.restore_to_point_in_time.use_latest_restorable_time, false)
    error_message = "restore_to_point_in_time needs exactly one of restore_time (RFC 3339) or use_latest_restorable_time = true."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary attached to every IAM role this module creates."
  type        = string
}
