{"a.txt": "hello\n", "b.yaml": std.manifestYamlDoc({k: "v"})}
