{json: std.escapeStringJson("a\"b\\c\n\u0001é"), bash: std.escapeStringBash("it's"), dollars: std.escapeStringDollars("$x $$"), python: std.escapeStringPython("x\ny")}
