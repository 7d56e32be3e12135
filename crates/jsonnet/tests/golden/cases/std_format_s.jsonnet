"%s %10s|%-10s| %s" % ["x", "right", "left", [1, 2]]
