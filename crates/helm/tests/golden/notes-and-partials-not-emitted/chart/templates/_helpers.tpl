{{- define "notes.name" -}}{{ .Chart.Name }}-x{{- end -}}
kind: ShouldNotAppear
