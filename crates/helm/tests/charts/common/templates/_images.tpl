{{/* repository:tag or repository@digest, with an optional global registry. */}}
{{- define "common.images.image" -}}
{{- $registry := .image.registry | default "" -}}
{{- with .global }}{{ with .imageRegistry }}{{ $registry = . }}{{ end }}{{ end -}}
{{- $tag := .image.tag | default .appVersion | toString -}}
{{- $ref := ternary (printf "@%s" .image.digest) (printf ":%s" $tag) (not (empty .image.digest)) -}}
{{- if $registry -}}
{{- printf "%s/%s%s" $registry .image.repository $ref -}}
{{- else -}}
{{- printf "%s%s" .image.repository $ref -}}
{{- end -}}
{{- end -}}

{{- define "common.images.pullSecrets" -}}
{{- $secrets := list -}}
{{- range ((.global).imagePullSecrets | default list) }}{{ $secrets = append $secrets . }}{{ end -}}
{{- range (.images | default list) }}{{ $secrets = append $secrets . }}{{ end -}}
{{- if $secrets }}
imagePullSecrets:
{{- range $secrets | uniq }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}
