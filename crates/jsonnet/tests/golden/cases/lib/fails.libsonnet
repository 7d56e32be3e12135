{ value: error "failure inside a library" }
