local base = {a: 1, b: self.a + 1}; base + {a: 10, c: super.b}
