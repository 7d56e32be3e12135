// Numbers turned into strings: `%.17g` digits for std.toString and `+`, the shortest for std.manifestJson*.
{
  concat: ['' + 0.1, 0.1 + '', '' + 1 / 3, '' + 1e-7, '' + 1e300, '' + -0.0, 'n=' + 2.5],
  to_string: [std.toString(x) for x in [0.1, std.sin(1), [0.1, 1e-7], { a: 0.3 }]],
  manifest: [std.manifestJson([0.1, 1e21, 1e-7]), std.manifestJsonMinified([1e-5, 1 / 3]),
             std.manifestJsonEx({ a: 1 / 3 }, ' ')],
  format: ['%s' % 0.1, '%s' % [[0.1]]],
  escape: [std.escapeStringJson(0.1), std.escapeStringPython(0.25), std.escapeStringBash({ a: "it's" }),
           std.escapeStringDollars(1e-7)],
}
