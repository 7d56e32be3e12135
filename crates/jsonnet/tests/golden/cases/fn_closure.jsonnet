local adder(n) = function(x) x + n; local add5 = adder(5); [add5(1), adder(10)(1)]
