{{- define "x" -}}defined{{- end -}}
