{{- define "inner" -}}
value: {{ .Values.a.b.c }}
{{- end -}}
