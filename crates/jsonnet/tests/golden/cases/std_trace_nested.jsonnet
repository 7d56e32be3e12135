local twice(x) = std.trace('twice ' + x, x * 2);
{
  a: twice(1),
  b: std.trace('b', [1, 2]),
  c: [twice(n) for n in [3, 4]],
}
