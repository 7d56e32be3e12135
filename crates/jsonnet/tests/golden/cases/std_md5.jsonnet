[std.md5("hello"), std.md5("")]
