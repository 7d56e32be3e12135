[std.parseInt("-123"), std.parseOctal("755"), std.parseHex("ff"), std.parseHex("DEADbeef")]
