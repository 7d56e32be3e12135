[if 1 > 0 then "yes" else "no", if false then 1, std.length([if true then 1 else 2])]
