"%(name)s is %(age)d years, %(score).1f" % {name: "Ada", age: 36, score: 9.25}
