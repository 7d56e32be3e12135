std.extVar("vars").zones
