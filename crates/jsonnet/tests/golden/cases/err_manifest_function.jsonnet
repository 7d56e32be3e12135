{f: function(x) x}
