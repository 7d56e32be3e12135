(import "lib/fails.libsonnet").value
