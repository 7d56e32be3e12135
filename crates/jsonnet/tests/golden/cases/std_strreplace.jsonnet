std.strReplace("日本語 日本", "日本", "にほん")
