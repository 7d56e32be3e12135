std.length == std.length
