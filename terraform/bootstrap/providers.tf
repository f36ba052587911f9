provider "aws" {
  region = var.region
  default_tags {
    tags = {
      project       = var.project
      environment   = var.environment
      owner         = var.owner
      "cost-center" = var.cost_center
      managed-by    = "terraform/bootstrap"
    }
  }
}
