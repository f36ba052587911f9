# Partial configuration: the bucket this root creates holds its state too, under
# bootstrap/<environment>.tfstate. The very first apply runs with a local backend
# (docs/deploy.md, part two, step 2) and then migrates:
#   terraform init -migrate-state -backend-config=dev.s3.tfbackend
terraform {
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }
}
