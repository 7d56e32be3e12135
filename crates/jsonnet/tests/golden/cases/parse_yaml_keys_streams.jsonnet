// YAML 1.1 keys become strings as sigs.k8s.io/yaml writes them; `---` lines make a stream.
{
  keys: std.parseYaml('1e7: a\n0.00001: b\n1.5e6: c\n-2: d\nyes: e\nOff: f\n'),
  duplicate: std.parseYaml('a: 1\na: 2\n'),
  scalars_stream: std.parseYaml('--- 5\n--- "x"\n'),
  crlf: std.parseYaml(' - x\r\n - y\r\n'),
  tags: std.parseYaml('a: !!str 1\nb: !!int "2"\n'),
  marker_like: std.parseYaml('a: |\n  ----\n  --x\n'),
}
