{ a: 1, assert self.a > 1 }
