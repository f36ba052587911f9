variable "name" {
  description = "Name prefix (project-environment)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lower-case letters, digits or hyphens."
  }
}

variable "environment" {
  description = "Environment whose costs the budget filters by its environment cost allocation tag."
  type        = string
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget in USD for this environment."
  type        = number
  validation {
    condition     = var.monthly_budget_usd > 0
    error_message = "monthly_budget_usd must be positive."
  }
}

variable "budget_alert_emails" {
  description = "Addresses notified (through SNS) at 80% forecast and 100% actual spend."
  type        = list(string)
  validation {
    condition     = length(var.budget_alert_emails) >= 1 && alltrue([for e in var.budget_alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "budget_alert_emails needs at least one valid e-mail address."
  }
}

variable "cost_allocation_tag_keys" {
  description = "Tag keys (set by the providers' default_tags) to activate as cost allocation tags."
  type        = list(string)
  default     = ["project", "environment", "owner", "cost-center"]
}

variable "activate_cost_allocation_tags" {
  description = "Activate the cost allocation tags (only possible in the payer account; false in member accounts of an organization)."
  type        = bool
  default     = true
}

variable "trail_bucket_name" {
  description = "Globally unique name of the CloudTrail log bucket."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.trail_bucket_name))
    error_message = "trail_bucket_name must be a valid S3 bucket name."
  }
}

variable "trail_glacier_after_days" {
  description = "Days after which trail log files move to Glacier Flexible Retrieval."
  type        = number
  validation {
    condition     = var.trail_glacier_after_days >= 30
    error_message = "trail_glacier_after_days must be at least 30."
  }
}

variable "trail_expire_after_days" {
  description = "Days after which trail log files are deleted."
  type        = number
  validation {
    condition     = var.trail_expire_after_days >= 365
    error_message = "trail_expire_after_days must be at least 365 (one year of audit history)."
  }
}
