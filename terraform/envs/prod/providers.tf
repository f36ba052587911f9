# default_tags: every taggable resource carries the cost allocation tags (activated by the
# observability_cost module), so Cost Explorer and the budget split costs by them.
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
