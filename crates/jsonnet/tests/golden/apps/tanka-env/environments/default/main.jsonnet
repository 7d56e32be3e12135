local spec = import 'spec.json';
(import 'app.libsonnet') + {
  _config+:: { namespace: spec.spec.namespace },
  namespace: (import 'k.libsonnet').core.v1.namespace.new(spec.spec.namespace),
}
