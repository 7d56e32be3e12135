std.extVar("text")
