std.native("nope")
