[std.flattenArrays([[1], [2, [3]], []]), std.flatMap(function(x) [x, x], [1, 2]), std.flatMap(function(c) c + c, "ab")]
