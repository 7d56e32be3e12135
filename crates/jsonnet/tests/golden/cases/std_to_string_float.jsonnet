std.toString(0.5)
