{assert self.x > 0 : "x must be positive", x: 1}
