# State in the environment's bucket (terraform/bootstrap), KMS-encrypted, locked by an S3
# lock file (no DynamoDB table). One key per environment and stage.
terraform {
  backend "s3" {
    bucket       = "appliance-dev-tfstate-use1"
    key          = "dev/platform.tfstate"
    region       = "us-east-1"
    encrypt      = true
    kms_key_id   = "alias/appliance-dev-tfstate"
    use_lockfile = true
  }
}
