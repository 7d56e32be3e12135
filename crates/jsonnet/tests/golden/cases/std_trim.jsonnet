[std.stripChars("  xx  ", " "), std.lstripChars("aabca", "a"), std.rstripChars("aabca", "a"), std.trim("  \t x y \n ")]
