[std.sum([1, 2, 3.5]), std.avg([1, 2, 3]), std.minArray([3, 1, 2]), std.maxArray([3, 1, 2])]
