function(env) env
