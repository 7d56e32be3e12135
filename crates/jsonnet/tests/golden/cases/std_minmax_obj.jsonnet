[std.maxArray([{v: 2}, {v: 5}], function(x) x.v), std.minArray(["bb", "a"], std.length)]
