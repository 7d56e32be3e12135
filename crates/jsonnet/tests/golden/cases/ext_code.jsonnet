{cfg: std.extVar("cfg"), n: std.extVar("n") + 1}
