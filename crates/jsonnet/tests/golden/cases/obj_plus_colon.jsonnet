local base = {metadata: {labels: {app: "x"}, name: "n"}}; base + {metadata+: {labels+: {tier: "web"}}}
