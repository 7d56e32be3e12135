// Keys left bare or quoted with quote_keys=false; numbers in plain decimal; block strings in arrays and objects.
std.manifestYamlDoc({
  "1": 1, "0x1f": 2, "1e3": 3, "a-b": 4, "2020-01-01": 5, "0b101": 6, yes: 7, "-": 8, "''": 9, _x: 10,
  Inf: 11, "1_000": 12, ".5": 13, x0x1: 14, "1.": 15, "1_": 16, "a.b/c": 17, "c d": 18, "": 19, "é": 20,
  nums: [1e21, -0, 0.1, 1e-7, 123456789012345680000],
  nested: [[], [1, [2]], {}, "x\n", "a\nb\n", { k: [{ l: "m\n" }] }],
}, indent_array_in_object=true, quote_keys=false)
