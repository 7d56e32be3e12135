std.manifestYamlStream([{a: 1}, [1, 2], "s", null])
