std.escapeStringXml("<a href=\"x\">&'</a>")
