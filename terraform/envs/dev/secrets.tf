# Application secrets in Secrets Manager, encrypted with their own key. Terraform creates
# the secrets, not their values: a secret version would be read back on every refresh, and
# the plan role of pull requests must never read a secret value. The values are put once at
# bootstrap and at each rotation (docs/deploy.md, docs/operations.md); the release root reads
# them with the apply role. The database password is RDS's own managed secret.
resource "aws_kms_key" "app_secrets" {
  description             = "${local.name} application secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_kms_alias" "app_secrets" {
  name          = "alias/${local.name}-app-secrets"
  target_key_id = aws_kms_key.app_secrets.key_id
}

# The Task API's static bearer tokens: one per line (task_api auth.tokens_file).
resource "aws_secretsmanager_secret" "api_tokens" {
  name                    = "${local.name}/api-tokens"
  description             = "Bearer tokens of the appliance Task API, one per line"
  kms_key_id              = aws_kms_key.app_secrets.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret" "grafana_admin" {
  name                    = "${local.name}/grafana-admin"
  description             = "Grafana admin password of kube-prometheus-stack"
  kms_key_id              = aws_kms_key.app_secrets.arn
  recovery_window_in_days = 7
}
