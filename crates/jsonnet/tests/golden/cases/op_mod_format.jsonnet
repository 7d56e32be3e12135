// The `%` operator on a string is std.format (go-jsonnet's std.mod); on numbers the remainder.
[
  '%.0g' % 3,
  '%e' % 1000,
  '%g' % 1e-5,
  '%5.2f|%-6d|%x' % [3.14159, 42, 255],
  '%(a)s-%(b)03d' % { a: 'x', b: 7 },
  '%c' % 65,
  '%s' % [[1, 2]],
  '%s' % null,
  '[%5s][%-4s]' % ['日本', 'é'],
  '%d%%' % 50,
  '%d' % 1e20,
  '%#o %#x %+d % d' % [8, 255, 3, 4],
  10 % 3,
  -7 % 3,
  5.5 % 2,
]
