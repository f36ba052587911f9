# State in the environment's bucket (terraform/bootstrap), KMS-encrypted, locked by an S3
# lock file (no DynamoDB table). One key per environment and stage.
terraform {
  backend "s3" {
    bucket       = "appliance-prod-tfstate-usw2"
    key          = "prod/platform.tfstate"
    region       = "us-west-2"
    encrypt      = true
    kms_key_id   = "alias/appliance-prod-tfstate"
    use_lockfile = true
  }
}
