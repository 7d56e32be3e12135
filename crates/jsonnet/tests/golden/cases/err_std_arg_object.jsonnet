std.objectFields([])
