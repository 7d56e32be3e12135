{{- define "edge-proxy.controller.fullname" -}}
{{- printf "%s-controller" (include "common.names.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "edge-proxy.admission.fullname" -}}
{{- printf "%s-admission" (include "common.names.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "edge-proxy.args" -}}
- /edge-proxy-controller
- --ingress-class={{ .Values.controller.ingressClass.name }}
- --configmap=$(POD_NAMESPACE)/{{ include "edge-proxy.controller.fullname" . }}
{{- if .Values.controller.admissionWebhooks.enabled }}
- --validating-webhook=:{{ .Values.controller.admissionWebhooks.port }}
{{- end }}
{{- range $key, $value := .Values.controller.extraArgs }}
{{- if $value }}
- --{{ $key }}={{ $value }}
{{- else }}
- --{{ $key }}
{{- end }}
{{- end }}
{{- end -}}
