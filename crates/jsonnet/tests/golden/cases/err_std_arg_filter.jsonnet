std.filter(1, [])
