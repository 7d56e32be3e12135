local u = import "lib/util.libsonnet"; {msg: u.greet("x"), file: u.file}
