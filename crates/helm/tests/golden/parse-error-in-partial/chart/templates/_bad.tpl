{{ define "bad" }}
{{ .Values.x | }}
{{ end }}
