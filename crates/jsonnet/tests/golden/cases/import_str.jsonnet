{text: importstr "lib/data.txt"}
