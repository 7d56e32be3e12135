local f(a, b=a + 1, c="x") = [a, b, c]; [f(1), f(1, 5), f(1, c="y"), f(b=3, a=2)]
