[std.get({a: 1}, "a"), std.get({a: 1}, "b", "def"), std.get({a:: 1}, "a", inc_hidden=false)]
