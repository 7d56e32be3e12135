{{/* Resources from a preset name (nano..xlarge) unless explicit resources are set. */}}
{{- define "common.resources.preset" -}}
{{- $presets := dict
  "nano" (dict "requests" (dict "cpu" "100m" "memory" "128Mi") "limits" (dict "cpu" "150m" "memory" "192Mi"))
  "small" (dict "requests" (dict "cpu" "250m" "memory" "256Mi") "limits" (dict "cpu" "375m" "memory" "384Mi"))
  "medium" (dict "requests" (dict "cpu" "500m" "memory" "1024Mi") "limits" (dict "cpu" "750m" "memory" "1536Mi"))
  "large" (dict "requests" (dict "cpu" "1" "memory" "2048Mi") "limits" (dict "cpu" "1.5" "memory" "3072Mi"))
}}
{{- if hasKey $presets .type -}}
{{- index $presets .type | toYaml -}}
{{- else -}}
{{- printf "ERROR: unknown resources preset %q, use one of: %s" .type (keys $presets | sortAlpha | join ", ") | fail -}}
{{- end -}}
{{- end -}}

{{- define "common.resources" -}}
{{- if .Values.resources }}
{{- toYaml .Values.resources }}
{{- else if ne (.Values.resourcesPreset | default "none") "none" }}
{{- include "common.resources.preset" (dict "type" .Values.resourcesPreset) }}
{{- else -}}
{}
{{- end }}
{{- end -}}
