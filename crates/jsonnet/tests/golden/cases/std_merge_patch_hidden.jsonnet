// std.mergePatch: only visible fields take part (a hidden patch field is not applied, a hidden target field is
// not merged into), null removes, non-objects replace.
{
  hidden_patch: std.mergePatch({ name: true, kind: false }, { kind:: 'x', env: 1 }),
  hidden_target: std.mergePatch({ a:: { x: 1 }, b: 2 }, { a: { y: 2 } }),
  nested: std.mergePatch({ a: { b: 1, c: 2 }, d: [1] }, { a: { b: null, e: { f: null, g: 1 } }, d: null }),
  scalar: [std.mergePatch({ a: 1 }, 'x'), std.mergePatch('x', { a: null, b: 1 })],
}
