{[k + "_x"]: std.length(k) for k in ["a", "bb", "ccc"] if k != "bb"}
