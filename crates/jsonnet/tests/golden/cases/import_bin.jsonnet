{bytes: importbin "lib/data.bin"}
