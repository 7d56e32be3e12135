std.splitLimitR("a,b", "", 1)
