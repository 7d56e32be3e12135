[std.isString("a"), std.isNumber(1), std.isBoolean(false), std.isObject({}), std.isArray([]), std.isFunction(function() 1), std.type(null), std.type(std.length)]
