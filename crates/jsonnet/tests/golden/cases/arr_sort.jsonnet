[std.sort([3, 1, 2]), std.sort(["b", "a", "C"]), std.sort([{n: 2}, {n: 1}], function(x) x.n), std.sort([[2], [1, 2], [1]])]
