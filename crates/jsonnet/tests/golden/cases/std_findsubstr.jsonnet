[std.findSubstr("ab", "abcabab"), std.findSubstr("", "abc")]
