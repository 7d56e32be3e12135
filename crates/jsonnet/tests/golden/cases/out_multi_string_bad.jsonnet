{"a.txt": 1}
