[std.all([true, true]), std.any([false, true]), std.all([]), std.any([])]
