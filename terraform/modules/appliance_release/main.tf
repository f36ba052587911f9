# What runs on the cluster: an encrypted gp3 StorageClass, the AWS Load Balancer Controller,
# kube-prometheus-stack (the official chart) and the appliance chart, with the environment's
# values and its Secrets copied from Secrets Manager into Kubernetes Secrets that the chart
# mounts as files (existingSecret).
locals {
  monitoring_release = "kube-prometheus-stack"
  secret_names = {
    database   = "appliance-database"
    api_tokens = "appliance-api-tokens"
    rds_ca     = "appliance-rds-ca"
    grafana    = "grafana-admin"
  }
}

resource "kubernetes_storage_class_v1" "gp3" {
  metadata {
    name        = "gp3-encrypted"
    annotations = { "storageclass.kubernetes.io/is-default-class" = "true" }
  }
  storage_provisioner    = "ebs.csi.aws.com"
  reclaim_policy         = "Retain"
  volume_binding_mode    = "WaitForFirstConsumer"
  allow_volume_expansion = true
  parameters = {
    type      = "gp3"
    encrypted = "true"
    kmsKeyId  = var.ebs_kms_key_arn
  }
}

resource "helm_release" "aws_load_balancer_controller" {
  name       = "aws-load-balancer-controller"
  namespace  = "kube-system"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-load-balancer-controller"
  version    = var.load_balancer_controller_chart_version
  atomic     = true
  timeout    = 600

  values = [yamlencode({
    clusterName  = var.cluster_name
    region       = var.region
    vpcId        = var.vpc_id
    replicaCount = 2
    # The Pod Identity association (eks module) binds this ServiceAccount to its IAM role.
    serviceAccount = { create = true, name = "aws-load-balancer-controller" }
    nodeSelector   = var.app_node_selector
  })]
}

resource "kubernetes_namespace_v1" "monitoring" {
  metadata {
    name = var.monitoring_namespace
  }
}

resource "kubernetes_secret_v1" "grafana_admin" {
  metadata {
    name      = local.secret_names.grafana
    namespace = kubernetes_namespace_v1.monitoring.metadata[0].name
  }
  data = {
    admin-user     = "admin"
    admin-password = var.grafana_admin_password
  }
}

resource "helm_release" "kube_prometheus_stack" {
  name       = local.monitoring_release
  namespace  = kubernetes_namespace_v1.monitoring.metadata[0].name
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "kube-prometheus-stack"
  version    = var.kube_prometheus_stack_chart_version
  atomic     = true
  timeout    = 900

  values = [yamlencode({
    grafana = {
      admin = {
        existingSecret = kubernetes_secret_v1.grafana_admin.metadata[0].name
        userKey        = "admin-user"
        passwordKey    = "admin-password"
      }
      sidecar      = { dashboards = { enabled = true, label = "grafana_dashboard", labelValue = "1", searchNamespace = "ALL" } }
      nodeSelector = var.app_node_selector
    }
    prometheus = {
      prometheusSpec = {
        retention    = var.prometheus.retention
        nodeSelector = var.app_node_selector
        storageSpec = {
          volumeClaimTemplate = {
            spec = {
              storageClassName = kubernetes_storage_class_v1.gp3.metadata[0].name
              accessModes      = ["ReadWriteOnce"]
              resources        = { requests = { storage = "${var.prometheus.storage_gib}Gi" } }
            }
          }
        }
      }
    }
    alertmanager = { alertmanagerSpec = { nodeSelector = var.app_node_selector } }
  })]

  # A single value by path (Helm provider 3: `set` is a list of objects; dots in a key escaped).
  set = [
    { name = "prometheusOperator.nodeSelector.${replace(keys(var.app_node_selector)[0], ".", "\\.")}", value = values(var.app_node_selector)[0] },
  ]

  depends_on = [helm_release.aws_load_balancer_controller]
}

# --- The appliance ----------------------------------------------------------------------------
resource "kubernetes_namespace_v1" "appliance" {
  metadata {
    name = var.namespace
    labels = {
      "pod-security.kubernetes.io/enforce" = "restricted"
    }
  }
}

resource "kubernetes_secret_v1" "database" {
  metadata {
    name      = local.secret_names.database
    namespace = kubernetes_namespace_v1.appliance.metadata[0].name
  }
  data = {
    password = var.database_password
  }
}

resource "kubernetes_secret_v1" "api_tokens" {
  metadata {
    name      = local.secret_names.api_tokens
    namespace = kubernetes_namespace_v1.appliance.metadata[0].name
  }
  data = {
    tokens = var.api_tokens
  }
}

resource "kubernetes_config_map_v1" "rds_ca" {
  metadata {
    name      = local.secret_names.rds_ca
    namespace = kubernetes_namespace_v1.appliance.metadata[0].name
  }
  data = {
    "rds-ca.pem" = var.rds_ca_bundle
  }
}

locals {
  appliance_values = {
    image       = { repository = var.image_repository, tag = var.image_tag }
    environment = var.environment
    database = {
      url            = "postgresql://${var.database.username}@${var.database.host}:${var.database.port}/${var.database.name}"
      sslmode        = "verify-full"
      existingSecret = kubernetes_secret_v1.database.metadata[0].name
      passwordKey    = "password"
      caBundle       = { configMap = kubernetes_config_map_v1.rds_ca.metadata[0].name, key = "rds-ca.pem" }
    }
    auth   = { existingSecret = kubernetes_secret_v1.api_tokens.metadata[0].name, tokensKey = "tokens" }
    global = { nodeSelector = var.app_node_selector }
    api = {
      autoscaling = { enabled = true, minReplicas = var.api_replicas.min, maxReplicas = var.api_replicas.max }
      ingress = {
        enabled        = true
        className      = "alb"
        host           = var.ingress.host
        scheme         = var.ingress.scheme
        certificateArn = var.ingress.certificate_arn
      }
    }
    scaler = {
      enabled = var.enable_scaler
      runners = {
        nodeSelector = var.runner_node_selector
        tolerations  = var.runner_tolerations
        min          = var.runners.min
        max          = var.runners.max
      }
    }
    alerts = { enabled = var.enable_alerts }
    monitoring = {
      serviceMonitor = { additionalLabels = { release = local.monitoring_release } }
      prometheusRule = { additionalLabels = { release = local.monitoring_release } }
    }
    networkPolicy = {
      ingressCidrs        = [var.vpc_cidr]
      monitoringNamespace = var.monitoring_namespace
      database            = { cidrs = [var.vpc_cidr], port = var.database.port }
    }
  }
}

resource "helm_release" "appliance" {
  name      = "appliance"
  namespace = kubernetes_namespace_v1.appliance.metadata[0].name
  chart     = var.chart_path
  atomic    = true
  timeout   = 600
  wait      = true

  # The chart's environment file first, then what only Terraform knows.
  values = [
    file("${var.chart_path}/values-${var.environment}.yaml"),
    yamlencode(local.appliance_values),
  ]

  # kube-prometheus-stack first: the chart renders ServiceMonitors and the PrometheusRule
  # only when monitoring.coreos.com/v1 exists; the controller serves the Ingress.
  depends_on = [helm_release.kube_prometheus_stack, helm_release.aws_load_balancer_controller]
}
