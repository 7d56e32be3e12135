std.stringChars("aé😀")
