std.manifestJson({b: [1, {c: "d"}], a: "x\ny", e: {}, f: []})
