"a" || true
