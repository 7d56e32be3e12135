{{- define "x" -}}from-deep{{- end -}}
{{- define "y" -}}deep-y{{- end -}}
