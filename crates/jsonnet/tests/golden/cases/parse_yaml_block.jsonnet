std.parseYaml("text: |\n  line1\n  line2\nfolded: >\n  a\n  b\n")
