[std.toString(std.abs(0)), std.abs(-2.5), std.max(1, 2), std.min(0, -0), std.toString(std.max(0, -0)), std.toString(std.min(-0, 0))]
