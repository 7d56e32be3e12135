std.max(1, "x")
