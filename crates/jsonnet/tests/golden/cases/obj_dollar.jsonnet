{a: 1, inner: {b: $.a + 1, c: {d: $.inner.b}}}
