[std.codepoint("é"), std.codepoint("😀"), std.char(233), std.char(128512)]
