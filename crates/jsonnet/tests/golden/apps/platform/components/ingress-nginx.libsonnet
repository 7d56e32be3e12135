local k = import 'k.libsonnet';
function(cfg) {
  assert cfg.replicas >= 1 : 'ingress-nginx needs at least one replica, got %d' % cfg.replicas,
  controller: k.apps.v1.deployment.new('ingress-nginx-controller', cfg.replicas, [
    k.core.v1.container.new('controller', 'registry.k8s.io/ingress-nginx/controller:v1.11.2')
    + k.core.v1.container.withArgs(['/nginx-ingress-controller', '--election-id=ingress-nginx-leader', '--controller-class=k8s.io/ingress-nginx', '--ingress-class=' + cfg.className]),
  ], { 'app.kubernetes.io/name': 'ingress-nginx' }) + k.meta.withNamespace('ingress-nginx'),
  service: k.core.v1.service.new('ingress-nginx-controller', { 'app.kubernetes.io/name': 'ingress-nginx' }, [k.core.v1.servicePort.newNamed('http', 80, 'http'), k.core.v1.servicePort.newNamed('https', 443, 'https')]) + k.core.v1.service.spec.withType('LoadBalancer') + k.meta.withNamespace('ingress-nginx'),
}
