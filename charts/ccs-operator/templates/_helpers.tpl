{{/* Names, labels and the bits of configuration several templates share. */}}

{{- define "ccs-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ccs-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "ccs-operator.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "ccs-operator.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ccs-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ccs-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ccs-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ccs-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ccs-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ccs-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The port of config.server.listen ("host:port"): the container, probes and Service use it. */}}
{{- define "ccs-operator.listenPort" -}}
{{- splitList ":" .Values.config.server.listen | last | int -}}
{{- end -}}

{{/* Namespace of the leader-election Lease: the operator defaults it to POD_NAMESPACE. */}}
{{- define "ccs-operator.leaseNamespace" -}}
{{- .Values.config.leaderElection.leaseNamespace | default .Release.Namespace -}}
{{- end -}}

{{/* Name of the leader-election Lease: release-scoped unless set, so shards never share one. */}}
{{- define "ccs-operator.leaseName" -}}
{{- .Values.config.leaderElection.leaseName | default (include "ccs-operator.fullname" .) -}}
{{- end -}}

{{/* One egress rule: TCP (and UDP when `udp`) on `ports`, to `cidrs` when set. */}}
{{- define "ccs-operator.egressRule" -}}
- ports:
  {{- range .peer.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- if $.udp }}
    - port: {{ . }}
      protocol: UDP
    {{- end }}
  {{- end }}
  {{- with .peer.cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/* Name of the Secret holding the SMTP password, empty when there is none. */}}
{{- define "ccs-operator.smtpSecretName" -}}
{{- if .Values.smtpPassword.existingSecret -}}
{{- .Values.smtpPassword.existingSecret -}}
{{- else if .Values.smtpPassword.password -}}
{{- printf "%s-smtp" (include "ccs-operator.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "ccs-operator.smtpSecretKey" -}}
{{- if .Values.smtpPassword.existingSecret -}}
{{- .Values.smtpPassword.existingSecretKey -}}
{{- else -}}
password
{{- end -}}
{{- end -}}

{{/* Where the SMTP password Secret is mounted; the config points smtp.passwordFile at it. */}}
{{- define "ccs-operator.smtpPasswordDir" -}}/etc/ccs-operator/smtp{{- end -}}

{{/* The operator's configuration file: .Values.config plus what the chart itself wires in. */}}
{{- define "ccs-operator.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $_ := set $config.leaderElection "leaseName" (include "ccs-operator.leaseName" .) -}}
{{- if include "ccs-operator.smtpSecretName" . -}}
{{- $_ := set $config.smtp "passwordFile" (printf "%s/password" (include "ccs-operator.smtpPasswordDir" .)) -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
