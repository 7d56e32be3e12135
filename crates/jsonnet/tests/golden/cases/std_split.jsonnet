[std.split("a,b,,c", ","), std.splitLimit("a=b=c", "=", 1), std.splitLimitR("a=b=c", "=", 1)]
