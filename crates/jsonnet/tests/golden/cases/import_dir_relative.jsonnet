(import "lib/util.libsonnet").greet("y")
