# Application secrets in Secrets Manager, encrypted with their own key. Their values are
# generated through ephemeral resources into write-only attributes: they never enter the
# plan or this root's state. The database password is RDS's own managed secret.
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

ephemeral "aws_secretsmanager_random_password" "api_token" {
  password_length     = 48
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret_version" "api_tokens" {
  secret_id                = aws_secretsmanager_secret.api_tokens.id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.api_token.random_password
  secret_string_wo_version = 1
}

resource "aws_secretsmanager_secret" "grafana_admin" {
  name                    = "${local.name}/grafana-admin"
  description             = "Grafana admin password of kube-prometheus-stack"
  kms_key_id              = aws_kms_key.app_secrets.arn
  recovery_window_in_days = 7
}

ephemeral "aws_secretsmanager_random_password" "grafana_admin" {
  password_length     = 32
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret_version" "grafana_admin" {
  secret_id                = aws_secretsmanager_secret.grafana_admin.id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.grafana_admin.random_password
  secret_string_wo_version = 1
}
