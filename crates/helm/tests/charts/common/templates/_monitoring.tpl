{{- define "common.serviceMonitor" -}}
{{- if include "common.capabilities.serviceMonitor.enabled" . -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "common.names.fullname" . }}
  namespace: {{ .Values.metrics.serviceMonitor.namespace | default (include "common.names.namespace" .) }}
  labels:
    {{- include "common.labels.standard" . | nindent 4 }}
    {{- with .Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  endpoints:
    - port: {{ .Values.metrics.serviceMonitor.port | default "metrics" }}
      interval: {{ .Values.metrics.serviceMonitor.interval | default "30s" }}
      {{- with .Values.metrics.serviceMonitor.scrapeTimeout }}
      scrapeTimeout: {{ . }}
      {{- end }}
      path: {{ .Values.metrics.serviceMonitor.path | default "/metrics" }}
  namespaceSelector:
    matchNames:
      - {{ include "common.names.namespace" . }}
  selector:
    matchLabels:
      {{- include "common.labels.matchLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
