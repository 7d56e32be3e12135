local f(a) = a;
local g = function(b) b;
[f(1), f(a=2), g(b='three'), std.map(f, [4, 5])]
