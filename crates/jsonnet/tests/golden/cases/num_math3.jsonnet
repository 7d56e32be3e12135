[std.round(2.5), std.round(-2.5), std.clamp(15, 0, 10), std.exponent(8), std.mantissa(8), std.log2(8), std.log10(1000)]
