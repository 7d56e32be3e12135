[std.floor(3.7), std.ceil(3.2), std.abs(-4), std.sign(-3), std.max(1, 2), std.min(1, 2), std.pow(2, 10), std.sqrt(16), std.mod(7, 3), 7 % 3, -7 % 3]
