module tack.dev/kustomize-krusty

go 1.22
