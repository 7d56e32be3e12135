std.manifestYamlDoc({ a: $ })
