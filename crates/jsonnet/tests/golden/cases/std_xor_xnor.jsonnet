[std.xor(true, false), std.xnor(true, false)]
