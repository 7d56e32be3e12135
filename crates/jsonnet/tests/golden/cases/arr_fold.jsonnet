[std.foldl(function(a, b) a + b, [1,2,3], 0), std.foldr(function(a, b) [a] + b, [1,2,3], []), std.foldl(function(a, b) a + b, ["a", "b"], "")]
