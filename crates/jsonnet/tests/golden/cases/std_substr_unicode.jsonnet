std.substr("日本語テキスト", 2, 3)
