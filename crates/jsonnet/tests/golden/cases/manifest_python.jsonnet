[std.manifestPython({a: [1, true, null, "s"], b: {c: false}}), std.manifestPythonVars({x: 1, y: "z"})]
