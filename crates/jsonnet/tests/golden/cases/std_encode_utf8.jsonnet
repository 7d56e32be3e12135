[std.encodeUTF8("aé😀"), std.decodeUTF8([104, 195, 169])]
