std.map(function(x) x, 1)
