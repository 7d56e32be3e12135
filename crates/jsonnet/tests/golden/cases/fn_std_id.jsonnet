[std.id(3), std.isFunction(std.id)]
