std.asciiUpper("ß straße")
