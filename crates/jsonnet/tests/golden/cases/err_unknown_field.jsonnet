local o = {a: 1}; o.b
