function(env, replicas="1") {env: env, replicas: std.parseInt(replicas)}
