variable "name" {
  description = "Name prefix of every resource (project-environment)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lower-case letters, digits or hyphens."
  }
}

variable "cidr" {
  description = "The VPC's IPv4 CIDR block (a /16: subnets are carved from it)."
  type        = string
  validation {
    condition     = can(cidrhost(var.cidr, 0)) && endswith(var.cidr, "/16")
    error_message = "cidr must be a valid IPv4 /16 block."
  }
}

variable "azs" {
  description = "Exactly three availability zones of the region."
  type        = list(string)
  validation {
    condition     = length(var.azs) == 3 && length(distinct(var.azs)) == 3
    error_message = "azs must name three distinct availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC (dev: cheaper) instead of one per AZ (prod: no cross-AZ dependency)."
  type        = bool
}

variable "cluster_name" {
  description = "EKS cluster whose load balancers use these subnets (kubernetes.io/cluster tag)."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary attached to every IAM role this module creates."
  type        = string
}
