[std.startsWith("kube-prom", "kube"), std.endsWith("a.yaml", ".yaml"), std.startsWith("a", "abc")]
