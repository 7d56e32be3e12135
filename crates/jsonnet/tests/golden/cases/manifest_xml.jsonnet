std.manifestXmlJsonml(["svg", {height: "100"}, ["circle", {cx: 50}], "text"])
