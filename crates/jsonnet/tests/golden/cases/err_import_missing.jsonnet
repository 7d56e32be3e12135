import "does-not-exist.libsonnet"
