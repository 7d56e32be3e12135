[x * y for x in [1, 2] for y in [10, 20] if x * y != 20]
