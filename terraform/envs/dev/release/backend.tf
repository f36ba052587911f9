# Same bucket as the platform, its own key: this state holds the Kubernetes Secrets' values,
# so only the apply role may read it (terraform/modules/github_oidc).
terraform {
  backend "s3" {
    bucket       = "appliance-dev-tfstate-use1"
    key          = "dev/release.tfstate"
    region       = "us-east-1"
    encrypt      = true
    kms_key_id   = "alias/appliance-dev-tfstate"
    use_lockfile = true
  }
}
