std.parseJson('{"a": [1, 2.5, "x", null, true], "b": {"c": "é\\u00e9"}}')
