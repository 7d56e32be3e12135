std.assertEqual({ x: [1, "a"] }, { x: [1, "b"] })
