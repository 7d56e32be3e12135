function(cluster, replicas=2)
  local cfg = { cluster: cluster, replicas: replicas, className: 'nginx', provider: 'aws', domains: ['example.com'] };
  local components = {
    'ingress-nginx': (import 'components/ingress-nginx.libsonnet')(cfg),
    'external-dns': (import 'components/external-dns.libsonnet')(cfg),
  };
  {
    [name + '/' + part + '.json']: components[name][part]
    for name in std.objectFields(components)
    for part in std.objectFields(components[name])
  }
