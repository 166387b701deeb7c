{{/* Names, labels and small shared fragments. */}}
{{- define "llm-vault.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "llm-vault.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "llm-vault.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-vault.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "llm-vault.labels" -}}
{{ include "llm-vault.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llm-data-vault
environment: {{ .Values.global.environment }}
{{- end -}}

{{/* Restricted Pod Security Standard: pod level. */}}
{{- define "llm-vault.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.global.runAsUser }}
runAsGroup: {{ .Values.global.runAsUser }}
fsGroup: {{ .Values.global.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Restricted Pod Security Standard: container level. */}}
{{- define "llm-vault.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.global.runAsUser }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "llm-vault.image" -}}
{{- printf "%s/%s:%s" .root.Values.global.imageRegistry .image.repository (.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* The database credentials: a Secret made by the External Secrets operator, never a value in the chart. */}}
{{- define "llm-vault.dbSecretName" -}}
{{- .Values.secrets.database.secretName -}}
{{- end -}}

{{- define "llm-vault.jobPod" -}}
serviceAccountName: {{ include "llm-vault.fullname" .root }}-jobs
restartPolicy: Never
securityContext:
  {{- include "llm-vault.podSecurityContext" .root | nindent 2 }}
nodeSelector:
  {{- toYaml .root.Values.jobs.nodeSelector | nindent 2 }}
{{- with .root.Values.jobs.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ .name }}
    image: {{ include "llm-vault.image" (dict "root" .root "image" .job.image) }}
    imagePullPolicy: IfNotPresent
    args:
      {{- toYaml .job.args | nindent 6 }}
    securityContext:
      {{- include "llm-vault.containerSecurityContext" .root | nindent 6 }}
    resources:
      {{- toYaml .job.resources | nindent 6 }}
    env:
      - name: DATABASE_URL
        valueFrom:
          secretKeyRef:
            name: {{ include "llm-vault.dbSecretName" .root }}
            key: {{ .root.Values.secrets.database.key }}
      {{- with .job.vaultctlConfigMap }}
      - name: VAULTCTL_CONFIG
        value: /etc/vaultctl/vaultctl.yaml
      {{- end }}
    envFrom:
      - configMapRef:
          name: {{ include "llm-vault.fullname" .root }}-config
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- with .job.vaultctlConfigMap }}
      - name: vaultctl-config
        mountPath: /etc/vaultctl
        readOnly: true
      {{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 1Gi
  {{- with .job.vaultctlConfigMap }}
  # vaultctl's config (environments, secrets by reference only), made by the operators.
  - name: vaultctl-config
    configMap:
      name: {{ . }}
  {{- end }}
{{- end -}}
