{"a.json": {x: 1}, "b.json": [1, 2], "sub/c.json": "s"}
