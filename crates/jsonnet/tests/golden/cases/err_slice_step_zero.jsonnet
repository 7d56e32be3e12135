std.slice('abc', null, null, 0)
