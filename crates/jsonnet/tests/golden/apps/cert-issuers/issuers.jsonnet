local config = std.parseYaml(importstr 'config/issuers.yaml');
[
  {
    apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer',
    metadata: { name: issuer.name },
    spec: { acme: {
      server: issuer.server, email: issuer.email,
      privateKeySecretRef: { name: issuer.name + '-account-key' },
      solvers: [
        { dns01: { [config.dns.provider]: { region: config.dns.region } }, selector: { dnsZones: config.dns.zones } },
        { http01: { ingress: { ingressClassName: 'nginx' } } },
      ],
    } },
  }
  for issuer in config.issuers
] + [{
  apiVersion: 'v1', kind: 'List',
  items: [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: std.strReplace(zone, '.', '-'), namespace: 'ingress' }, spec: { secretName: std.strReplace(zone, '.', '-') + '-tls', dnsNames: [zone, '*.' + zone], issuerRef: { name: 'letsencrypt-prod', kind: 'ClusterIssuer' } } } for zone in config.dns.zones],
}]
