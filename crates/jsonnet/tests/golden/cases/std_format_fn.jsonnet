// std.format called as a function (tack's own implementation): every conversion, flags, widths in characters,
// go-jsonnet's rounding and exponents, magnitudes past 2^53, `*` widths, mapping keys.
[
  std.format('[%5s][%-5s][%3c]', ['é', '日本', 'é']),
  std.format('%d %i %u %o %#o %x %#X %05d %+d % d %.3d', [42, -42, 7.9, 8, 8, 255, 255, -42, 3, 3, 5]),
  std.format('%d %f %s', [1e20, 1e20, 1e20]),
  std.format('%.0g|%.0G|%#.3g|%g|%G|%g|%g', [3, 1e10, 3, 123456.5, 1e-5, 100000, 1000000]),
  std.format('%e|%E|%.0e|%#.0e|%10.2e|%-12.3E|', [1e3, 1e-5, 0.25, 3, -12345.678, 1.5e-300]),
  std.format('%f|%.0f|%.1f|%.1f|%#.0f|%08.3f|%-8.2f|%+.2f', [2.5, 2.5, 9.25, -3.25, 3, -3.14159, 1.005, 0]),
  std.format('%*d|%-*d|%.*f|%*.*f', [5, 1, 5, 2, 2, 3.14159, 8, 3, 2.71828]),
  std.format('%(name)s is %(age)03d, %(ratio).2f%%', { name: 'Zoë', age: 7, ratio: 99.5 }),
  std.format('%s|%s|%s', [[1, 'a'], { a: null }, true]),
  std.format('%hd %ld %Lf', [1, 2, 3.5]),
  std.format('no codes', []),
  std.format('%s', 'single'),
]
