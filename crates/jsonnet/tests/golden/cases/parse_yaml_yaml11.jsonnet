[
  std.parseYaml("{int: 42, oct: 0o17, hex: 0x1f, float: 6.02e+23, str: \"x\", list: [a, b], nul: ~, yes: yes}"),
  std.parseYaml("a: y\nb: Yes\nc: on\nd: OFF\ne: n\nf: 0777\ng: 190:20:30\nh: 2001-12-14t21:59:43.10-05:00\ni: 2002-12-14\nm: 1_000\nn: 0b101\no: +12\np: 1e3\nq: 0x_1F\nr: ~\ns: Null\nt: NULL\nu: True\nv: 1.\nw: .5\nx: -0\n"),
  std.parseYaml("a: 1\n---\nb: 2\n"),
  std.parseYaml("---\na: 1\n"),
  std.parseYaml(""),
  std.parseYaml("# only a comment\n"),
  std.parseYaml("- 1\n- 2\n...\n"),
  std.parseYaml("---\n---\n"),
  std.parseYaml("1: a\n2.5: b\ntrue: c\nno: d\n"),
  std.parseYaml("x: &a {p: 1}\ny: *a\nz:\n  <<: *a\n  q: 2\n"),
  std.parseYaml("s: |\n  line1\n  line2\nt: >\n  folded\n  text\n"),
  std.parseYaml("a: 12345678901234567890\nb: -9223372036854775809\nc: 0.1\n"),
]
