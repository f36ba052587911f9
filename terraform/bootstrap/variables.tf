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
  description = "Environment this bootstrap serves (one state bucket and one set of GitHub roles per environment)."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  description = "Region of the environment and its state bucket."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "owner" {
  description = "Team owning the resources (owner cost allocation tag)."
  type        = string
}

variable "cost_center" {
  description = "Cost center billed (cost-center cost allocation tag)."
  type        = string
}

variable "repository" {
  description = "The GitHub repository (OWNER/REPO) whose workflows may assume the roles."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.repository))
    error_message = "repository must be OWNER/REPO exactly (no wildcards)."
  }
}

variable "state_bucket_name" {
  description = "Globally unique name of the state bucket (must match the roots' backend.tf)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name."
  }
}

variable "state_noncurrent_days" {
  description = "Days that superseded state versions are kept (recovery from a bad apply)."
  type        = number
  default     = 90
  validation {
    condition     = var.state_noncurrent_days >= 30
    error_message = "Keep superseded state versions at least 30 days."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false when dev and prod share an account and the other environment created it)."
  type        = bool
  default     = true
}

variable "image_push_environment" {
  description = "GitHub environment allowed to push images to this environment's ECR repository."
  type        = string
}

variable "ecr_repository_name" {
  description = "Name of the image repository (created by the environment's root)."
  type        = string
  default     = "appliance"
}
