# Helm provider 3 (attribute syntax: `set = [...]`, `kubernetes = {...}`) and the Kubernetes
# provider; neither can be downloaded on offline machines, so `make test` parses this module
# and checks its references instead of running terraform validate.
terraform {
  required_version = ">= 1.11"
  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = ">= 3.0, < 4.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.36, < 3.0"
    }
  }
}
