std.manifestYamlDoc(["", "  lead", "trail ", "null", "true", "1.5", "-", "#c", "a #b", "é", "multi\nline", "tab\tx", "x:"])
