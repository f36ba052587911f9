# GitHub Actions to AWS without stored keys: the account's OIDC provider and, for one
# environment, three roles trusted by exact StringEquals on aud and sub for the one repository:
#   plan  - pull requests (repo:OWNER/REPO:pull_request), read-only, platform state only
#   apply - jobs of the GitHub environment (repo:OWNER/REPO:environment:ENV)
#   image - jobs of the image-push environment, push to the one ECR repository
# Roles the apply role creates must carry the workload permissions boundary.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  issuer     = "token.actions.githubusercontent.com"
  arn_prefix = "arn:${local.partition}:iam::${local.account_id}"
  subjects = {
    plan  = "repo:${var.repository}:pull_request"
    apply = "repo:${var.repository}:environment:${var.environment}"
    image = "repo:${var.repository}:environment:${var.image_push_environment}"
  }
  provider_arn = var.create_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
}

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_provider ? 1 : 0
  url            = "https://${local.issuer}"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_provider ? 0 : 1
  url   = "https://${local.issuer}"
}

data "aws_iam_policy_document" "trust" {
  for_each = local.subjects
  statement {
    sid     = "GitHubActions${title(each.key)}"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = [each.value]
    }
  }
}

resource "aws_iam_role" "plan" {
  name                 = "github-${var.name}-plan"
  description          = "terraform plan from pull requests of ${var.repository} (read-only)"
  assume_role_policy   = data.aws_iam_policy_document.trust["plan"].json
  max_session_duration = 3600
}

resource "aws_iam_role" "apply" {
  name                 = "github-${var.name}-apply"
  description          = "terraform apply from the ${var.environment} environment of ${var.repository}"
  assume_role_policy   = data.aws_iam_policy_document.trust["apply"].json
  max_session_duration = 3600
}

resource "aws_iam_role" "image_push" {
  name                 = "github-${var.name}-image-push"
  description          = "Image push to ECR ${var.ecr_repository_name} from ${var.repository}"
  assume_role_policy   = data.aws_iam_policy_document.trust["image"].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "plan" {
  name   = "terraform-plan"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}

resource "aws_iam_role_policy" "apply" {
  name   = "terraform-apply"
  role   = aws_iam_role.apply.id
  policy = data.aws_iam_policy_document.apply.json
}

resource "aws_iam_role_policy" "image_push" {
  name   = "ecr-push"
  role   = aws_iam_role.image_push.id
  policy = data.aws_iam_policy_document.image_push.json
}
