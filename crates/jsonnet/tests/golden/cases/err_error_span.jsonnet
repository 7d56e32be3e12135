local check(x) = if x > 1 then error 'too big: ' + x else x;
{
  ok: check(1),
  bad: [check(2) for i in [1]],
}
