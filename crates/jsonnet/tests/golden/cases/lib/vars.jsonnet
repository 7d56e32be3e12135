{ region: "eu-west-1", zones: 3 }
