{{- define "check" -}}
{{- if .Values.v }}{{ fail "check failed inside include" }}{{ end -}}
{{- end -}}
