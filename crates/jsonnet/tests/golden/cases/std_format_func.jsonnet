std.format("%s-%03d", ["v", 7])
