{{- define "identity.dbHost" -}}
{{- if .Values.database.external -}}
{{- required "database.host is required when database.external is true" .Values.database.host -}}
{{- else -}}
{{- printf "%s-db" (include "common.names.fullname" .) -}}
{{- end -}}
{{- end -}}
