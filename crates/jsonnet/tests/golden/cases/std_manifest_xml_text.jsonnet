// std.manifestXmlJsonml writes text and attribute values as they are (no escaping), attributes sorted.
[
  std.manifestXmlJsonml(['a', { x: '1', b: 'say "hi"', n: 2 }, 'quote"d & <b>', ['br'], ['i', 'x']]),
  std.manifestXmlJsonml(['svg', ['g', { id: 'é' }]]),
]
