["héllo"[1], "abc"[2:], "abcdef"[::2], "abcdef"[1:4:2]]
