std.manifestYamlDoc({a: [1, [2, 3], {b: [4]}], c: {d: [{e: 1, f: 2}]}}, indent_array_in_object=true)
