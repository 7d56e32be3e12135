local a = {f(x):: x + 1, v: self.f(1)}; local b = a + {f(x):: super.f(x) * 10}; b
