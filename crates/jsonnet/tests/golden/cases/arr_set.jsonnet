[std.set([3, 1, 2, 1]), std.setUnion([1, 3], [2, 3]), std.setInter([1, 2, 3], [2, 3, 4]), std.setDiff([1, 2, 3], [2]), std.setMember(2, [1, 2, 3])]
