[std.manifestJsonEx({a: [1, 2], b: {c: null}}, "  "), std.manifestJsonEx({a: [1]}, "", " ", ": ")]
