[std.exp(1), std.log(10), std.sin(1), std.cos(1), std.tan(1), std.asin(0.5), std.acos(0.5), std.atan(1)]
