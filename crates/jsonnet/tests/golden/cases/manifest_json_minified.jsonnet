std.manifestJsonMinified({a: [1, 2], b: {c: "x"}})
