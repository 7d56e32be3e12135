[std.primitiveEquals(1, 1), std.primitiveEquals("a", "b")]
