output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "API server endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA bundle of the API server."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_version" {
  description = "Kubernetes version of the control plane."
  value       = aws_eks_cluster.this.version
}

output "cluster_security_group_id" {
  description = "The cluster security group EKS attaches to the control-plane ENIs and the managed nodes (the database admits it on 5432)."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "node_role_arn" {
  description = "IAM role of the managed nodes."
  value       = aws_iam_role.node.arn
}

output "ebs_kms_key_arn" {
  description = "KMS key for node and persistent volumes (the gp3 StorageClass uses it)."
  value       = aws_kms_key.ebs.arn
}

output "load_balancer_controller_role_arn" {
  description = "Pod Identity role of the AWS Load Balancer Controller (kube-system/aws-load-balancer-controller)."
  value       = aws_iam_role.load_balancer_controller.arn
}

output "runner_node_selector" {
  description = "nodeSelector for the runner pods (the spot node group's label)."
  value       = { (var.runner_node_label.key) = var.runner_node_label.value }
}

output "runner_tolerations" {
  description = "Tolerations for the runner pods (the spot node group's NoSchedule taint)."
  value = [{
    key      = var.runner_node_taint.key
    operator = "Equal"
    value    = var.runner_node_taint.value
    effect   = "NoSchedule"
  }]
}

output "app_node_selector" {
  description = "nodeSelector for the appliance and platform pods (the on-demand node group)."
  value       = { (var.runner_node_label.key) = "app" }
}
