[std.base64("héllo"), std.base64Decode("aMOpbGxv"), std.base64DecodeBytes("AAEC"), std.base64([0, 255, 128])]
