std.split("α,β,γ", ",")
