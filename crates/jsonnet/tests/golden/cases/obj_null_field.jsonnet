{[if false then "a"]: 1, b: null}
