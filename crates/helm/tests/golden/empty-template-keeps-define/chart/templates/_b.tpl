{{/* only a comment */}}
