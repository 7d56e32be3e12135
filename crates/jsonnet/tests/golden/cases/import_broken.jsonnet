import "lib/broken.libsonnet"
