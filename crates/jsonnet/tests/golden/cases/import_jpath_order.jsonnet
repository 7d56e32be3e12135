[(import "override.libsonnet").who]
