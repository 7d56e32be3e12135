std.objectFieldsEx({a: 1, b:: 2}, true)
