local sum(x, v) =
  if x <= 0 then v else sum(x - 1, x + v) tailstrict;
// Deeper than the stack limit (500): tailstrict calls do not count toward it, as in go-jsonnet.
sum(3000, 0)
