std.trim("\u00a0 x \u00a0")
