(import "lib/config.json") + {extra: true}
