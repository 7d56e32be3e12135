{{- define "shared.name" -}}from-child{{- end -}}
{{- define "child.only" -}}child-only{{- end -}}
