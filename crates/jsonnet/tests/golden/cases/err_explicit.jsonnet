{a: error "custom failure: value " + 42}
