[std.isEven(4), std.isOdd(3), std.isInteger(1.5), std.isDecimal(1.5)]
