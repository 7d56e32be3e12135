std.setUnion(std.set(["b", "a"]), ["c"])
