std.format('%d %d', [1])
