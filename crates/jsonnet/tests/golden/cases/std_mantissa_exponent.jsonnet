// std.mantissa / std.exponent as Go's math.Frexp.
[[std.mantissa(x), std.exponent(x)] for x in [2.625, 10, 1e-320, -3, 0, 0.84, 123.456, 1e300]]
