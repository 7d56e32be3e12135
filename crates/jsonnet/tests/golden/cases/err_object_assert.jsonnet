{assert self.replicas > 0 : "replicas must be positive", replicas: 0}
