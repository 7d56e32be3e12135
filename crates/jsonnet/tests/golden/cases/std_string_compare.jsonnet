["a" < "b", "é" > "z", "abc" < "abd", "" < "a", std.sort(["b", "é", "A", "a"])]
