# gateway configuration for {{ .Release.Name }}
listen: 0.0.0.0:{{ .Values.containerPorts.http }}
admin: 0.0.0.0:{{ .Values.containerPorts.admin }}
routes:
{{- range .Values.routes }}
  - name: {{ .name }}
    match: {prefix: {{ .prefix | quote }}}
    upstream: {{ tpl .upstream $ | quote }}
    timeout: {{ .timeout | default "30s" }}
{{- end }}
{{- if .Values.rateLimit.enabled }}
rateLimit:
  requestsPerMinute: {{ .Values.rateLimit.perMinute | int }}
{{- end }}
