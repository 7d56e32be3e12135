local f(a) = a; f(x=1)
