{{/* Names, labels and the pieces every role's objects share. */}}

{{- define "appliance.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "appliance.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "appliance.componentName" (dict "root" $ "component" "api") */}}
{{- define "appliance.componentName" -}}
{{- printf "%s-%s" (include "appliance.fullname" .root | trunc 55 | trimSuffix "-") .component }}
{{- end }}

{{- define "appliance.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "appliance.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: appliance
{{- end }}

{{/* "appliance.componentLabels" (dict "root" $ "component" "api") */}}
{{- define "appliance.componentLabels" -}}
{{ include "appliance.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector labels: stable across upgrades; the component keeps roles apart. */}}
{{- define "appliance.selectorLabels" -}}
app.kubernetes.io/name: {{ include "appliance.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "appliance.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag: latest is not allowed; use a version tag or image.digest" }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "appliance.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "appliance.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Replicas a role runs at least (the HPA minimum for the api). */}}
{{- define "appliance.minReplicas" -}}
{{- $role := index .root.Values .component }}
{{- if and (eq .component "api") $role.autoscaling.enabled }}
{{- $role.autoscaling.minReplicas }}
{{- else }}
{{- $role.replicas }}
{{- end }}
{{- end }}

{{/*
The appliance config the chart renders into its ConfigMap: listeners, the drain timing and
the file paths of mounted Secrets, then .Values.config over it. The binary merges this file
over base.yaml and <environment>.yaml.
*/}}
{{- define "appliance.config" -}}
{{- $v := .Values }}
{{- $cfg := dict
  "http" (dict
    "listen" (printf "0.0.0.0:%d" (int $v.http.port))
    "shutdown_delay" (printf "%ds" (int $v.http.shutdownDelaySeconds))
    "drain_timeout" (printf "%ds" (int $v.http.drainTimeoutSeconds)))
  "log" (dict "format" "json")
  "data" (dict "dir" "/var/lib/appliance")
  "metrics_exporter" (dict "listen" (printf "0.0.0.0:%d" (int $v.metrics.port))) }}
{{- $pg := dict }}
{{- if $v.database.url }}{{ $_ := set $pg "url" $v.database.url }}{{ end }}
{{- if $v.database.sslmode }}{{ $_ := set $pg "sslmode" $v.database.sslmode }}{{ end }}
{{- if $v.database.existingSecret }}{{ $_ := set $pg "password_file" "/etc/appliance/db/password" }}{{ end }}
{{- if $v.database.caBundle.configMap }}{{ $_ := set $pg "sslrootcert" "/etc/appliance/db/rds-ca.pem" }}{{ end }}
{{- if $pg }}{{ $_ := set $cfg "storage_postgres" $pg }}{{ end }}
{{- if $v.auth.existingSecret }}
{{- $_ := set $cfg "task_api" (dict "auth" (dict "tokens_file" "/etc/appliance/api/tokens")) }}
{{- end }}
{{- toYaml (mustMergeOverwrite $cfg (deepCopy $v.config)) }}
{{- end }}

{{/* Seconds a pod needs after SIGTERM: the shutdown delay, the drain and 5 s to stop plugins. */}}
{{- define "appliance.terminationGracePeriod" -}}
{{- add (int .Values.http.shutdownDelaySeconds) (int .Values.http.drainTimeoutSeconds) 5 }}
{{- end }}
