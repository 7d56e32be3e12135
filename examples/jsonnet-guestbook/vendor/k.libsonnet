import 'github.com/jsonnet-libs/k8s-libsonnet/1.30/main.libsonnet'
