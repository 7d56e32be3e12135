std.extVar("missing")
