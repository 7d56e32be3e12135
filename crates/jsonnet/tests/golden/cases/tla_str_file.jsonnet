function(text) std.length(text)
