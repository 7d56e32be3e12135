std.mapWithKey(function(k, v) k + "=" + v, {x: "1", y: "2"})
