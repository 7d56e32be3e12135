[std.map(function(x) x * 2, [1,2,3]), std.filter(function(x) x % 2 == 0, std.range(1, 10)), std.filterMap(function(x) x > 1, function(x) x * 10, [1,2,3])]
