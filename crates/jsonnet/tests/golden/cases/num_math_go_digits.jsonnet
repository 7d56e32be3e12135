// Go's math package digits: trigonometry, exp, log and pow where the C library's last digit differs.
{
  tan: [std.tan(x) for x in [1, 0.5, 2, -3.3, 100.25, 1e-8]],
  trig: [[std.sin(x), std.cos(x), std.atan(x)] for x in [0.7, 2.5, -6.1, 1000.5]],
  inverse: [[std.asin(x), std.acos(x)] for x in [0.5, -0.25, 0.9, 1, -1]],
  atan2: [std.atan2(y, x) for y in [1, -2.5, 0] for x in [3, -0.5]],
  exp: [std.exp(x) for x in [0.75, -3.2, 12.5, 700, -740]],
  log: [std.log(x) for x in [0.3, 3.5, 1e10, 1e-310, 7.3]],
  pow: [std.pow(x, y) for x in [0.3, 3.7, 10] for y in [0.1, 2.5, -7.75, 100]],
  log2_log10: [[std.log2(x), std.log10(x)] for x in [3, 1e10, 0.3]],
  format: ['%e' % x for x in [0.3, 123456.789, 1e-300, 7e22]],
}
