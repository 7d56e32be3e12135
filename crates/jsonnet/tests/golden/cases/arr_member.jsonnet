[std.member([1, 2], 2), std.member("abc", "c"), std.contains([1, 2], 3), std.count([1, 1, 2], 1), std.find(1, [1, 2, 1])]
