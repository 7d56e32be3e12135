std.manifestYamlDoc({a: "x", "b c": 1, "d-e": [1]}, quote_keys=false)
