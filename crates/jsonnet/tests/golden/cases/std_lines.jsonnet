std.lines(["a", "b"])
