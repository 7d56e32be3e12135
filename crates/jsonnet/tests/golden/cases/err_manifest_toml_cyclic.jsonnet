{ a: 1, b: std.manifestTomlEx({ a: { b: $ } }, "  ") }
