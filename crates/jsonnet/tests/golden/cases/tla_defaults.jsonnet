function(env="dev") {env: env}
