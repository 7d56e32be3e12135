std.stripChars("ééxéé", "é")
