std.format('%(a)s %5', { a: 1 })
