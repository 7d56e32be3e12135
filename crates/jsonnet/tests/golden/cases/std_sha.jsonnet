[std.sha1("abc"), std.sha256("abc"), std.sha512("abc"), std.sha3("abc")]
