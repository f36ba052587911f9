variable "environment" {
  description = "Environment name: selects the chart's values-<environment>.yaml and the appliance's --env."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  description = "AWS region (the Load Balancer Controller's region; pods have no IMDS access)."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster name."
  type        = string
}

variable "vpc_id" {
  description = "VPC ID (the Load Balancer Controller's vpcId)."
  type        = string
}

variable "vpc_cidr" {
  description = "VPC CIDR: the ALB (target-type ip) reaches the api pods from it; the database lives in it."
  type        = string
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a CIDR block."
  }
}

variable "chart_path" {
  description = "Path of the appliance chart (charts/appliance of this repository)."
  type        = string
}

variable "namespace" {
  description = "Namespace of the appliance release."
  type        = string
  default     = "appliance"
}

variable "monitoring_namespace" {
  description = "Namespace of kube-prometheus-stack."
  type        = string
  default     = "monitoring"
}

variable "image_repository" {
  description = "ECR repository of the appliance image."
  type        = string
}

variable "image_tag" {
  description = "Image tag to deploy (the release tag, e.g. v1.4.0); never latest."
  type        = string
  validation {
    condition     = var.image_tag != "latest" && can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid tag other than latest."
  }
}

variable "load_balancer_controller_chart_version" {
  description = "Version of the eks-charts aws-load-balancer-controller chart."
  type        = string
  default     = "1.13.4"
}

variable "kube_prometheus_stack_chart_version" {
  description = "Version of the prometheus-community kube-prometheus-stack chart."
  type        = string
  default     = "77.0.0"
}

variable "app_node_selector" {
  description = "nodeSelector of the appliance and platform pods (the on-demand node group)."
  type        = map(string)
}

variable "runner_node_selector" {
  description = "nodeSelector of the runner pods (the spot node group's label, from the eks module)."
  type        = map(string)
}

variable "runner_tolerations" {
  description = "Tolerations of the runner pods (the spot node group's taint, from the eks module)."
  type = list(object({
    key      = string
    operator = string
    value    = string
    effect   = string
  }))
}

variable "api_replicas" {
  description = "HPA range of the api Deployment."
  type = object({
    min = number
    max = number
  })
  validation {
    condition     = var.api_replicas.min >= 2 && var.api_replicas.min <= var.api_replicas.max
    error_message = "api_replicas needs 2 <= min <= max (one replica cannot roll without downtime)."
  }
}

variable "runners" {
  description = "Range of GitHub Actions runners the scaler keeps."
  type = object({
    min = number
    max = number
  })
  validation {
    condition     = var.runners.min >= 0 && var.runners.min <= var.runners.max
    error_message = "runners needs 0 <= min <= max."
  }
}

variable "enable_scaler" {
  description = "Run the scaler role (needs the runner_scaler plugin in the image)."
  type        = bool
  default     = false
}

variable "enable_alerts" {
  description = "Run the alerts role (needs the alert_evaluator plugin in the image)."
  type        = bool
  default     = false
}

variable "ingress" {
  description = "The api's ALB: host name, ACM certificate and scheme."
  type = object({
    host            = string
    certificate_arn = string
    scheme          = string
  })
  validation {
    condition     = contains(["internet-facing", "internal"], var.ingress.scheme) && startswith(var.ingress.certificate_arn, "arn:")
    error_message = "ingress.scheme must be internet-facing or internal and ingress.certificate_arn an ACM ARN."
  }
}

variable "database" {
  description = "Where the appliance's PostgreSQL is (RDS)."
  type = object({
    host     = string
    port     = number
    name     = string
    username = string
  })
}

variable "database_password" {
  description = "Database password (from the RDS-managed Secrets Manager secret)."
  type        = string
  sensitive   = true
}

variable "api_tokens" {
  description = "Task API bearer tokens, one per line (from Secrets Manager)."
  type        = string
  sensitive   = true
}

variable "grafana_admin_password" {
  description = "Grafana admin password (from Secrets Manager)."
  type        = string
  sensitive   = true
}

variable "rds_ca_bundle" {
  description = "PEM bundle of the RDS certificate authorities of the region (sslmode=verify-full)."
  type        = string
}

variable "ebs_kms_key_arn" {
  description = "KMS key of the encrypted gp3 StorageClass."
  type        = string
}

variable "prometheus" {
  description = "Prometheus retention and volume size."
  type = object({
    retention   = string
    storage_gib = number
  })
  default = {
    retention   = "15d"
    storage_gib = 50
  }
}
