# Deploys onto the environment's cluster: reads the platform's outputs, copies the secrets
# from Secrets Manager, and installs the releases. Applied after the platform, from a runner
# that can reach the cluster's API (a self-hosted runner inside the VPC in CI).
data "terraform_remote_state" "platform" {
  backend = "s3"
  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/platform.tfstate"
    region = var.region
  }
}

data "aws_secretsmanager_secret_version" "database" {
  secret_id = local.platform.database_secret_arn
}

data "aws_secretsmanager_secret_version" "api_tokens" {
  secret_id = local.platform.api_tokens_secret_arn
}

data "aws_secretsmanager_secret_version" "grafana_admin" {
  secret_id = local.platform.grafana_admin_secret_arn
}

# The RDS CA bundle of the region (public), for sslmode=verify-full.
data "http" "rds_ca_bundle" {
  url = "https://truststore.pki.rds.amazonaws.com/${var.region}/${var.region}-bundle.pem"
}

module "appliance_release" {
  source = "../../../modules/appliance_release"

  environment  = var.environment
  region       = var.region
  cluster_name = local.platform.cluster_name
  vpc_id       = local.platform.vpc_id
  vpc_cidr     = local.platform.vpc_cidr
  chart_path   = "${path.root}/../../../../charts/appliance"

  image_repository = local.platform.repository_url
  image_tag        = var.image_tag

  app_node_selector    = local.platform.app_node_selector
  runner_node_selector = local.platform.runner_node_selector
  runner_tolerations   = local.platform.runner_tolerations
  api_replicas         = var.api_replicas
  runners              = var.runners
  enable_scaler        = var.enable_scaler
  enable_alerts        = var.enable_alerts

  ingress = {
    host            = var.api_host
    certificate_arn = var.certificate_arn
    scheme          = var.ingress_scheme
  }

  database = {
    host     = local.platform.database_address
    port     = local.platform.database_port
    name     = local.platform.database_name
    username = local.platform.database_username
  }
  database_password      = jsondecode(data.aws_secretsmanager_secret_version.database.secret_string)["password"]
  api_tokens             = data.aws_secretsmanager_secret_version.api_tokens.secret_string
  grafana_admin_password = data.aws_secretsmanager_secret_version.grafana_admin.secret_string
  rds_ca_bundle          = data.http.rds_ca_bundle.response_body
  ebs_kms_key_arn        = local.platform.ebs_kms_key_arn
  prometheus             = var.prometheus
}
