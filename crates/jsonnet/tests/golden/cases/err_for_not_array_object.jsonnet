{ [k]: 1 for k in { a: 1 } }
