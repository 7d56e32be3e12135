std.manifestIni({main: {a: "1", b: ["x", "y"]}, sections: {s1: {k: "v"}, s2: {}}})
