locals {
  platform = data.terraform_remote_state.platform.outputs
  # Short-lived EKS tokens from the runner's own AWS credentials (the GitHub apply role).
  eks_exec = {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", local.platform.cluster_name, "--region", var.region]
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      project       = var.project
      environment   = var.environment
      owner         = var.owner
      "cost-center" = var.cost_center
      managed-by    = "terraform"
    }
  }
}

provider "kubernetes" {
  host                   = local.platform.cluster_endpoint
  cluster_ca_certificate = base64decode(local.platform.cluster_certificate_authority_data)
  exec {
    api_version = local.eks_exec.api_version
    command     = local.eks_exec.command
    args        = local.eks_exec.args
  }
}

# Helm provider 3: `kubernetes` and its `exec` are attributes (objects), not blocks.
provider "helm" {
  kubernetes = {
    host                   = local.platform.cluster_endpoint
    cluster_ca_certificate = base64decode(local.platform.cluster_certificate_authority_data)
    exec                   = local.eks_exec
  }
}
