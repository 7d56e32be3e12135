"plain text\nwith lines"
