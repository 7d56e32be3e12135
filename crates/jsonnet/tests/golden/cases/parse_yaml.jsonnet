std.parseYaml("a: 1\nb:\n  - x\n  - y: z\nc: 'quoted'\nd: true\ne: null\nf: 1.5\n")
