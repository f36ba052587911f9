variable "name" {
  description = "Repository name (the image's name, e.g. appliance)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*$", var.name))
    error_message = "name must be a valid ECR repository name."
  }
}

variable "keep_releases" {
  description = "How many release images (tags v*) to keep; older ones expire."
  type        = number
  validation {
    condition     = var.keep_releases >= 5 && var.keep_releases <= 1000
    error_message = "keep_releases must be between 5 and 1000 (rollback needs some history)."
  }
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images (superseded layers, failed pushes) expire."
  type        = number
  validation {
    condition     = var.untagged_expiry_days >= 1 && var.untagged_expiry_days <= 90
    error_message = "untagged_expiry_days must be between 1 and 90."
  }
}

variable "branch_image_expiry_days" {
  description = "Days after which images tagged sha-* (builds of main) expire."
  type        = number
  default     = 30
  validation {
    condition     = var.branch_image_expiry_days >= 1
    error_message = "branch_image_expiry_days must be at least 1."
  }
}

variable "push_role_arns" {
  description = "IAM roles allowed to push (the GitHub image-push role); pulls are by the nodes' own role."
  type        = list(string)
  default     = []
}
