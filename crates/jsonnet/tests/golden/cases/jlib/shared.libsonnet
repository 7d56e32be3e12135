{ shared: "from jlib", where: std.thisFile }
