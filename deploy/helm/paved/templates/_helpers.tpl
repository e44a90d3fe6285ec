{{/* Name of the chart, trimmed to fit Kubernetes' 63-character limit. */}}
{{- define "paved.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "paved.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "paved.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "paved.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "paved.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "paved.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "paved.selectorLabels" -}}
app.kubernetes.io/name: {{ include "paved.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "paved.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "paved.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "paved.secretName" -}}
{{- default (include "paved.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "paved.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The environment of every Paved container: settings, then secrets from the Secret. */}}
{{- define "paved.env" -}}
- name: PAVED_LISTEN
  value: "0.0.0.0:8080"
- name: PAVED_DATA_DIR
  value: /data
- name: PAVED_SHUTDOWN_TIMEOUT
  value: {{ printf "%ds" (sub (int .Values.terminationGracePeriodSeconds) 5 | max 1) | quote }}
{{- range $k, $v := .Values.config }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
- name: PAVED_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "paved.secretName" . }}
      key: database-url
- name: PAVED_SEARCH_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "paved.secretName" . }}
      key: search-key
      optional: true
- name: PAVED_OIDC_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "paved.secretName" . }}
      key: oidc-client-secret
      optional: true
{{- end }}
