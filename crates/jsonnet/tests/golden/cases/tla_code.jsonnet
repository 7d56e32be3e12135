function(cfg, flag=false) {cfg: cfg, flag: flag}
