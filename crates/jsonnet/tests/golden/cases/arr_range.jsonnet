[std.range(0, 5), std.range(5, 0), std.makeArray(4, function(i) i * i)]
