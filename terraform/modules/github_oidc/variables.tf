variable "name" {
  description = "Name prefix of the environment's resources (project-environment); the roles this module creates are named github-<name>-*, outside that prefix, so the apply role cannot change them."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lower-case letters, digits or hyphens."
  }
}

variable "repository" {
  description = "The one GitHub repository (OWNER/REPO) trusted by the roles. No wildcards."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.repository))
    error_message = "repository must be OWNER/REPO exactly (no wildcards)."
  }
}

variable "environment" {
  description = "GitHub environment whose jobs may assume the apply role (repo:OWNER/REPO:environment:<environment>)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.environment))
    error_message = "environment must be a plain GitHub environment name."
  }
}

variable "image_push_environment" {
  description = "GitHub environment whose jobs may push images to the registry (deployment rule: main and v* tags for dev, v* tags for prod)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.image_push_environment))
    error_message = "image_push_environment must be a plain GitHub environment name."
  }
}

variable "create_provider" {
  description = "Create the account's token.actions.githubusercontent.com OIDC provider (false when another stack already did)."
  type        = bool
  default     = true
}

variable "region" {
  description = "The environment's region: the apply role's regional actions are limited to it."
  type        = string
}

variable "state_bucket_arn" {
  description = "ARN of the Terraform state bucket."
  type        = string
}

variable "state_kms_key_arn" {
  description = "KMS key encrypting the state bucket."
  type        = string
}

variable "platform_state_key" {
  description = "State object of the platform root (envs/<env>): plan and apply roles."
  type        = string
}

variable "release_state_key" {
  description = "State object of the release root (envs/<env>/release): apply role only (it holds Kubernetes Secrets)."
  type        = string
}

variable "ecr_repository_name" {
  description = "ECR repository the image-push role may push to."
  type        = string
}
