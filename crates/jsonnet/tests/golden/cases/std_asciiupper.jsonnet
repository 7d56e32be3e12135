[std.asciiUpper("héllo World"), std.asciiLower("ÀBC Def")]
