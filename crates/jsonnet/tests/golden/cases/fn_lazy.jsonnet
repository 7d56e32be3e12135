local x = error "never"; local f(a, b) = a; f(1, x)
