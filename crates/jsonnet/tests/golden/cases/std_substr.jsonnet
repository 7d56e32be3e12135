[std.substr("héllo wörld", 1, 4), std.substr("abc", 5, 2)]
