[{kind: "A"}, {kind: "B", list: [1, 2]}, "s", 1, [], {}]
