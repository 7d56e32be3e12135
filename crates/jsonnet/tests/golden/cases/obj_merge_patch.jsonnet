std.mergePatch({a: {b: 1, c: 2}, d: 3}, {a: {b: null, e: 4}, d: null, f: [1]})
