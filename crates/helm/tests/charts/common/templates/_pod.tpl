{{/* Probes: enabled ones only, without the enabled key. */}}
{{- define "common.probes" -}}
{{- range $kind := list "startupProbe" "livenessProbe" "readinessProbe" }}
{{- $p := index ($.Values.probes | default dict) $kind }}
{{- if and $p $p.enabled }}
{{ $kind }}:
  {{- toYaml (omit $p "enabled") | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "common.env" -}}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
{{- if kindIs "map" $value }}
  valueFrom:
    {{- toYaml $value | nindent 4 }}
{{- else }}
  value: {{ tpl (toString $value) $ | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "common.podScheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .Values.affinity }}
affinity:
  {{- include "common.tplvalues.render" (dict "value" .Values.affinity "context" $) | nindent 2 }}
{{- else if eq (.Values.podAntiAffinityPreset | default "") "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "common.labels.matchLabels" . | nindent 16 }}
{{- else if eq (.Values.podAntiAffinityPreset | default "") "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "common.labels.matchLabels" . | nindent 14 }}
{{- end }}
{{- end -}}
