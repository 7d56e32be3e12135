std.parseYaml("{int: 42, oct: 0o17, hex: 0x1f, float: 6.02e+23, str: \"x\", list: [a, b], nul: ~, yes: yes}")
