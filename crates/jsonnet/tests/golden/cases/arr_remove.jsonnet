[std.remove([1, 2, 1], 1), std.removeAt([1, 2, 3], 1)]
