std.format('%d', ['x'])
