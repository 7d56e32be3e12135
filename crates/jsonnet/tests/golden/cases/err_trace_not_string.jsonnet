std.trace(0.1, 1)
