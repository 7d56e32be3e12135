import "shared.libsonnet"
