[std.set([{k: 2}, {k: 1}, {k: 2}], function(x) x.k), std.setUnion(["a"], ["B", "b"], std.asciiLower)]
