std.trace("tracing", {a: 1})
