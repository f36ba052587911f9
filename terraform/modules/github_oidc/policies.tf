# The roles' inline policies. Plan reads the platform's resources and its state (and writes
# only the state's lock file); apply manages the services the roots use, creates IAM roles
# only under the environment's name prefix and only with the workload boundary; image-push
# pushes to one repository.
locals {
  state_objects = {
    platform = "${var.state_bucket_arn}/${var.platform_state_key}"
    release  = "${var.state_bucket_arn}/${var.release_state_key}"
  }
  own_roles    = "${local.arn_prefix}:role/${var.name}-*"
  own_policies = "${local.arn_prefix}:policy/${var.name}-*"
}

data "aws_iam_policy_document" "plan" {
  statement {
    sid    = "ReadPlatform"
    effect = "Allow"
    actions = [
      "ec2:Describe*", "ec2:GetLaunchTemplateData",
      "eks:Describe*", "eks:List*",
      "rds:Describe*", "rds:ListTagsForResource",
      "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
      "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:GetOpenIDConnectProvider",
      "iam:ListInstanceProfilesForRole", "iam:ListPolicies",
      "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListResourceTags",
      "logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
      "s3:GetBucket*", "s3:GetLifecycleConfiguration", "s3:GetEncryptionConfiguration",
      "s3:GetReplicationConfiguration", "s3:GetAccelerateConfiguration", "s3:ListAllMyBuckets",
      "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
      "cloudtrail:ListTags", "cloudtrail:GetTrail", "cloudtrail:GetInsightSelectors",
      "budgets:ViewBudget", "budgets:ListTagsForResource", "ce:ListCostAllocationTags",
      "sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic",
      "ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource",
      "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
      "autoscaling:Describe*", "sts:GetCallerIdentity",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadPlatformState"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.state_objects.platform]
  }

  # use_lockfile: plan takes the state lock by writing <key>.tflock next to the state.
  statement {
    sid       = "LockPlatformState"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state_objects.platform}.tflock"]
  }

  statement {
    sid       = "ListStateBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.state_bucket_arn]
  }

  statement {
    sid       = "DecryptState"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.state_kms_key_arn]
  }

  # Pull requests never see a secret value, whatever else is granted.
  statement {
    sid       = "NoSecretValues"
    effect    = "Deny"
    actions   = ["secretsmanager:GetSecretValue", "ssm:GetParameter*", "kms:Decrypt"]
    resources = ["*"]
    condition {
      test     = "StringNotEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "apply" {
  statement {
    sid    = "ManageRegionalServices"
    effect = "Allow"
    actions = [
      "ec2:*", "eks:*", "rds:*", "logs:*", "kms:*", "sns:*", "ecr:*", "cloudtrail:*",
      "autoscaling:Describe*", "elasticloadbalancing:Describe*", "pi:*",
    ]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.region]
    }
  }

  statement {
    sid       = "ManageCosts"
    effect    = "Allow"
    actions   = ["budgets:*", "ce:ListCostAllocationTags", "ce:UpdateCostAllocationTagsStatus"]
    resources = ["*"]
  }

  statement {
    sid       = "ManageOwnSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:*"]
    resources = ["arn:${local.partition}:secretsmanager:${var.region}:${local.account_id}:secret:${var.name}/*", "arn:${local.partition}:secretsmanager:${var.region}:${local.account_id}:secret:rds!*"]
  }

  statement {
    sid       = "ManageOwnBuckets"
    effect    = "Allow"
    actions   = ["s3:*"]
    resources = ["arn:${local.partition}:s3:::${var.name}-*", "arn:${local.partition}:s3:::${var.name}-*/*"]
  }

  statement {
    sid       = "State"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = flatten([for o in values(local.state_objects) : [o, "${o}.tflock"]])
  }

  statement {
    sid       = "ListStateBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.state_bucket_arn]
  }

  statement {
    sid       = "ReadIam"
    effect    = "Allow"
    actions   = ["iam:Get*", "iam:List*"]
    resources = ["*"]
  }

  statement {
    sid    = "CreateBoundedRoles"
    effect = "Allow"
    actions = [
      "iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
      "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary",
    ]
    resources = [local.own_roles]
    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.workload_boundary.arn]
    }
  }

  statement {
    sid    = "ManageOwnRoles"
    effect = "Allow"
    actions = [
      "iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
      "iam:UpdateAssumeRolePolicy", "iam:PassRole",
    ]
    resources = [local.own_roles]
  }

  statement {
    sid    = "ManageOwnPolicies"
    effect = "Allow"
    actions = [
      "iam:CreatePolicy", "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
      "iam:TagPolicy", "iam:UntagPolicy",
    ]
    resources = [local.own_policies]
  }

  statement {
    sid       = "ServiceLinkedRoles"
    effect    = "Allow"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values = [
        "eks.amazonaws.com", "eks-nodegroup.amazonaws.com", "rds.amazonaws.com",
        "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com", "spot.amazonaws.com",
      ]
    }
  }

  # The boundary is this module's (applied by an administrator): the apply role can neither
  # rewrite it nor lift it from a role it created.
  statement {
    sid    = "KeepTheBoundary"
    effect = "Deny"
    actions = [
      "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy",
    ]
    resources = [aws_iam_policy.workload_boundary.arn]
  }

  statement {
    sid       = "KeepBoundariesOnRoles"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary"]
    resources = ["*"]
  }

  statement {
    sid       = "StateKeyIsNotDeleted"
    effect    = "Deny"
    actions   = ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"]
    resources = [var.state_kms_key_arn]
  }
}

data "aws_iam_policy_document" "image_push" {
  statement {
    sid       = "Login"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid    = "PushOneRepository"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
      "ecr:DescribeImages", "ecr:DescribeImageScanFindings", "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
    ]
    resources = ["arn:${local.partition}:ecr:${var.region}:${local.account_id}:repository/${var.ecr_repository_name}"]
  }
}

# Every role the apply role creates carries this boundary: whatever policies are attached,
# such a role cannot manage IAM, the organization or the account, so creating roles is no
# way around the apply role's own limits.
data "aws_iam_policy_document" "workload_boundary" {
  statement {
    sid       = "AllowWithinGrants"
    effect    = "Allow"
    actions   = ["*"]
    resources = ["*"]
  }
  statement {
    sid    = "NoIdentityManagement"
    effect = "Deny"
    actions = [
      "iam:CreateRole", "iam:CreateUser", "iam:CreateGroup", "iam:CreatePolicy", "iam:CreatePolicyVersion",
      "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateInstanceProfile",
      "iam:CreateOpenIDConnectProvider", "iam:CreateSAMLProvider",
      "iam:Delete*", "iam:Put*", "iam:Attach*", "iam:Detach*", "iam:Update*",
      "iam:PassRole", "iam:AddUserToGroup", "iam:SetDefaultPolicyVersion", "iam:Tag*", "iam:Untag*",
      "organizations:*", "account:*",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "workload_boundary" {
  name        = "${var.name}-workload-boundary"
  description = "Permissions boundary of every role created by the ${var.name} Terraform roots"
  policy      = data.aws_iam_policy_document.workload_boundary.json
}
