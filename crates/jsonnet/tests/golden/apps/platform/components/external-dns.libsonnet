local k = import 'k.libsonnet';
function(cfg) {
  deployment: k.apps.v1.deployment.new('external-dns', 1, [
    k.core.v1.container.new('external-dns', 'registry.k8s.io/external-dns/external-dns:v0.15.0')
    + k.core.v1.container.withArgs(['--source=ingress', '--provider=' + cfg.provider] + ['--domain-filter=' + d for d in cfg.domains] + ['--txt-owner-id=%s' % cfg.cluster]),
  ]) + k.meta.withNamespace('external-dns'),
}
