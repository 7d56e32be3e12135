std.join("\n", [std.toString(i) for i in std.range(1, 3)])
