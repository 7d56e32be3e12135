{v: std.extVar("env")}
