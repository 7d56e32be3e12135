local tmpl = {name: error "name required", greeting: "hello " + self.name}; tmpl + {name: "world"}
