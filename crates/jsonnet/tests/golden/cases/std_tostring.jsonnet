[std.toString(1), std.toString("s"), std.toString([1, "a", null]), std.toString({a: true})]
