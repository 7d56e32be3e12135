local f(a) = a;
f(,)
