[std.isEmpty(""), std.isEmpty("a"), std.equalsIgnoreCase("ABc", "abC")]
