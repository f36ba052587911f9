variable "name" {
  description = "Cluster name (project-environment)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lower-case letters, digits or hyphens."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and the node groups (1.34 or newer: in standard support)."
  type        = string
  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version)) && try(tonumber(split(".", var.kubernetes_version)[1]) >= 34, false)
    error_message = "kubernetes_version must be 1.34 or newer (older minors are out of standard support)."
  }
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets for the control-plane ENIs and the nodes (one per AZ)."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two AZs."
  }
}

variable "endpoint_public_access" {
  description = "Expose the API server endpoint publicly (restricted to public_access_cidrs); the private endpoint is always on."
  type        = bool
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint (GitHub-hosted runner egress, office VPN). Never 0.0.0.0/0."
  type        = list(string)
  validation {
    condition     = alltrue([for c in var.public_access_cidrs : can(cidrhost(c, 0)) && !endswith(c, "/0")])
    error_message = "public_access_cidrs must be valid CIDRs and must not include 0.0.0.0/0 (or any /0)."
  }
}

variable "cluster_admin_arns" {
  description = "IAM principals granted cluster-admin through EKS access entries (the apply role, break-glass admins)."
  type        = list(string)
}

variable "cluster_viewer_arns" {
  description = "IAM principals granted read-only access (AmazonEKSAdminViewPolicy, which includes Secrets) through access entries; not the pull-request plan role."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the control-plane log group, in days."
  type        = number
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the control-plane log group."
  type        = string
}

variable "app_node_group" {
  description = "On-demand node group for the appliance pods and the platform charts."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gib  = number
  })
  validation {
    condition = (var.app_node_group.min_size >= 1 && var.app_node_group.min_size <= var.app_node_group.desired_size &&
    var.app_node_group.desired_size <= var.app_node_group.max_size && var.app_node_group.max_size <= 20)
    error_message = "app_node_group needs 1 <= min_size <= desired_size <= max_size <= 20."
  }
  validation {
    condition     = length(var.app_node_group.instance_types) >= 1 && var.app_node_group.disk_size_gib >= 20
    error_message = "app_node_group needs at least one instance type and a disk of at least 20 GiB."
  }
}

variable "runner_node_group" {
  description = "Spot node group for the GitHub Actions runner pods (scales from zero)."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gib  = number
  })
  validation {
    condition = (var.runner_node_group.min_size >= 0 && var.runner_node_group.min_size <= var.runner_node_group.desired_size &&
    var.runner_node_group.desired_size <= var.runner_node_group.max_size && var.runner_node_group.max_size <= 10)
    error_message = "runner_node_group needs 0 <= min_size <= desired_size <= max_size <= 10."
  }
  validation {
    condition     = length(var.runner_node_group.instance_types) >= 2
    error_message = "A spot node group needs several instance types (spot capacity pools)."
  }
}

variable "runner_node_label" {
  description = "Node label of the runner node group (the chart's scaler.runners.nodeSelector); the app node group gets the same key with value app."
  type = object({
    key   = string
    value = string
  })
  default = {
    key   = "appliance.io/node-pool"
    value = "runners"
  }
}

variable "runner_node_taint" {
  description = "NoSchedule taint (key and value) of the runner node group; the chart's scaler.runners.tolerations tolerate it."
  type = object({
    key   = string
    value = string
  })
  default = {
    key   = "appliance.io/runners"
    value = "true"
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary attached to every IAM role this module creates."
  type        = string
}
