{{/* RBAC building blocks: the rule sets are written once and bound per mode in rbac.yaml. */}}

{{/* The kinds as a YAML flow list, each with an optional subresource suffix. */}}
{{- define "ccs-operator.kinds" -}}
{{- $suffix := . -}}
[{{ range $i, $kind := list "cloudcontracts" "portalusers" "budgetalerts" "serviceorders" "consoleaccesses" "billingexports" }}{{ if $i }}, {{ end }}{{ $kind }}{{ $suffix }}{{ end }}]
{{- end -}}

{{/* What the operator needs in every namespace it watches. */}}
{{- define "ccs-operator.watchedRules" -}}
- apiGroups: [customerspace.io]
  resources: {{ include "ccs-operator.kinds" "" }}
  verbs: [get, list, watch, patch, update]
# Status is written by server-side apply.
- apiGroups: [customerspace.io]
  resources: {{ include "ccs-operator.kinds" "/status" }}
  verbs: [get, patch, update]
# Needed to set finalizers / owner references that block deletion.
- apiGroups: [customerspace.io]
  resources: {{ include "ccs-operator.kinds" "/finalizers" }}
  verbs: [patch, update]
# Portal credentials referenced by CloudContracts (read-only, watched so changes requeue).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
# ConsoleAccess `passwords: GeneratedSecret`: the Secret of initial passwords, owned by its object
# (garbage-collected with it). Never update or delete: the operator only creates and applies it.
- apiGroups: [""]
  resources: [secrets]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* Leader election: create the Lease, then read and renew only that one (kube-lease-manager
renews and takes over with server-side apply and strategic merge patches: patch). */}}
{{- define "ccs-operator.leaseRules" -}}
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [{{ include "ccs-operator.leaseName" . | quote }}]
  verbs: [get, patch, update]
{{- end -}}

{{/*
A Role or ClusterRole and its binding to the operator's ServiceAccount.
Arguments: ctx (the root context), kind (Role or ClusterRole), name, namespace (Role only), rules.
*/}}
{{- define "ccs-operator.boundRole" -}}
{{- $ctx := .ctx -}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "ccs-operator.labels" $ctx | nindent 4 }}
rules:
  {{- .rules | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}Binding
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "ccs-operator.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ .kind }}
  name: {{ .name }}
subjects:
  - kind: ServiceAccount
    name: {{ include "ccs-operator.serviceAccountName" $ctx }}
    namespace: {{ $ctx.Release.Namespace }}
{{- end -}}
