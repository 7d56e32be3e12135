[std.repeat("ab", 3), std.repeat([1], 2), std.deepJoin(["a", ["b", ["c"]]])]
