// TOML: inline values inside arrays, empty tables, quoted keys, arrays mixing objects and scalars, deep sections.
{
  doc: std.manifestTomlEx({
    "a b": 1, "": "empty", arr: [[1, 2], { x: [3, { y: 4 }] }, "s"], mixed: [{ a: 1 }, 2], empty: {},
    emptyArr: [], t: { u: { v: { w: 1 } }, z: true }, ts: [{}, { k: "v", sub: { q: 1 } }],
  }, "\t"),
  plain: std.manifestToml({ a: { b: 1 }, c: -0.5 }),
}
