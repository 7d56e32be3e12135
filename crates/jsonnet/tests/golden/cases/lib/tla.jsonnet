function(env) { env: env }
