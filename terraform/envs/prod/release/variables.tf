variable "project" {
  description = "Project name (project cost allocation tag)."
  type        = string
  default     = "appliance"
}

variable "environment" {
  description = "Environment name; must match the platform root's."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  description = "AWS region of the environment (and of its state bucket)."
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

variable "state_bucket" {
  description = "State bucket holding the platform root's state (<environment>/platform.tfstate)."
  type        = string
}

variable "image_tag" {
  description = "Image tag to deploy, set by the release workflow (-var image_tag=vX.Y.Z)."
  type        = string
  validation {
    condition     = var.image_tag != "latest" && length(var.image_tag) > 0
    error_message = "image_tag must be set and must not be latest."
  }
}

variable "api_host" {
  description = "Host name of the Task API on the ALB."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of api_host, in the environment's region."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ingress_scheme" {
  description = "internet-facing or internal ALB."
  type        = string
  default     = "internet-facing"
}

variable "api_replicas" {
  description = "HPA range of the api (dev 2-3, prod 3-10)."
  type = object({
    min = number
    max = number
  })
}

variable "runners" {
  description = "Range of runners the scaler keeps (dev 1-3, prod 2-10)."
  type = object({
    min = number
    max = number
  })
}

variable "enable_scaler" {
  description = "Run the scaler role."
  type        = bool
  default     = false
}

variable "enable_alerts" {
  description = "Run the alerts role."
  type        = bool
  default     = false
}

variable "prometheus" {
  description = "Prometheus retention and volume size."
  type = object({
    retention   = string
    storage_gib = number
  })
}
