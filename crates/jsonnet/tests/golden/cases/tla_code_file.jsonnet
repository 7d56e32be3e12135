function(vars) vars.region
