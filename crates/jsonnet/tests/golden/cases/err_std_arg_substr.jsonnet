std.substr(1, 2, 3)
