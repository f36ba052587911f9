# Two managed node groups on AL2023: "app" (on-demand) for the appliance and the platform
# charts, "runners" (spot, several instance types, tainted) for GitHub Actions runner pods.
# Launch templates require IMDSv2 with a hop limit of 1 (pods cannot reach the node's
# credentials; they get their own through Pod Identity) and encrypted gp3 root volumes.
data "aws_iam_policy_document" "node_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name                 = "${var.name}-eks-node"
  assume_role_policy   = data.aws_iam_policy_document.node_trust.json
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonEKS_CNI_Policy",
  ])
  role       = aws_iam_role.node.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/${each.value}"
}

locals {
  node_groups = {
    app = {
      config        = var.app_node_group
      capacity_type = "ON_DEMAND"
      labels        = { (var.runner_node_label.key) = "app" }
      taints        = []
    }
    runners = {
      config        = var.runner_node_group
      capacity_type = "SPOT"
      labels        = { (var.runner_node_label.key) = var.runner_node_label.value }
      taints        = [{ key = var.runner_node_taint.key, value = var.runner_node_taint.value, effect = "NO_SCHEDULE" }]
    }
  }
}

resource "aws_launch_template" "node" {
  for_each               = local.node_groups
  name_prefix            = "${var.name}-${each.key}-"
  update_default_version = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = each.value.config.disk_size_gib
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = aws_kms_key.ebs.arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.name}-${each.key}" }
  }

  tag_specifications {
    resource_type = "volume"
    tags          = { Name = "${var.name}-${each.key}" }
  }
}

resource "aws_eks_node_group" "this" {
  for_each        = local.node_groups
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = each.key
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.private_subnet_ids
  version         = var.kubernetes_version
  ami_type        = "AL2023_x86_64_STANDARD"
  capacity_type   = each.value.capacity_type
  instance_types  = each.value.config.instance_types
  labels          = each.value.labels

  scaling_config {
    min_size     = each.value.config.min_size
    max_size     = each.value.config.max_size
    desired_size = each.value.config.desired_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.node[each.key].id
    version = aws_launch_template.node[each.key].latest_version
  }

  dynamic "taint" {
    for_each = each.value.taints
    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  # The cluster autoscaler (or the appliance's scaler) owns the desired size once created.
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}
