std.manifestTomlEx({title: "x", owner: {name: "n", dob: 1}, arr: [1, 2], tables: [{a: 1}, {a: 2}], nested: {deep: {k: "v"}}}, "  ")
