{local two = 2, a: two * 2, local self_ref = self.a, b: self_ref + 1}
