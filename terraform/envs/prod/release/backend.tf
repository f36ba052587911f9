# Same bucket as the platform, its own key: this state holds the Kubernetes Secrets' values,
# so only the apply role may read it (terraform/modules/github_oidc).
terraform {
  backend "s3" {
    bucket       = "appliance-prod-tfstate-usw2"
    key          = "prod/release.tfstate"
    region       = "us-west-2"
    encrypt      = true
    kms_key_id   = "alias/appliance-prod-tfstate"
    use_lockfile = true
  }
}
