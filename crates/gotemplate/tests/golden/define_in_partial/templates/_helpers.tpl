{{- define "h.name" -}}
name-{{ .Values.nn }}
{{- end -}}
