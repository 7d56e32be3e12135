std.manifestTomlEx({ a: { b: [1, null] } }, "  ")
