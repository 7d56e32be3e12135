local k = import 'k.libsonnet';
{
  values+:: { common: { namespace: 'monitoring', versions: { prometheus: '2.54.1', alertmanager: '0.27.0', nodeExporter: '1.8.2' }, images: { prometheus: 'quay.io/prometheus/prometheus:v' + $.values.common.versions.prometheus } } },
  prometheus: {
    local p = self,
    local v = $.values.common,
    _name:: 'k8s',
    serviceAccount: k.core.v1.serviceAccount.new('prometheus-' + p._name) + k.meta.withNamespace(v.namespace),
    prometheus: {
      apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus',
      metadata: { name: p._name, namespace: v.namespace, labels: { prometheus: p._name } },
      spec: {
        replicas: 2, version: v.versions.prometheus, image: v.images.prometheus,
        serviceAccountName: p.serviceAccount.metadata.name,
        serviceMonitorSelector: {}, ruleSelector: {}, retention: '15d',
        resources: { requests: { memory: '400Mi' } },
        alerting: { alertmanagers: [{ namespace: v.namespace, name: 'alertmanager-main', port: 'web', apiVersion: 'v2' }] },
      },
    },
    service: k.core.v1.service.new('prometheus-' + p._name, { 'app.kubernetes.io/name': 'prometheus' }, [k.core.v1.servicePort.newNamed('web', 9090, 'web')]) + k.meta.withNamespace(v.namespace),
    clusterRole: k.rbac.v1.clusterRole.new('prometheus-' + p._name, [
      k.rbac.v1.policyRule.new([''], ['nodes/metrics'], ['get']),
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]),
    serviceMonitors: {
      [name]: {
        apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor',
        metadata: { name: name, namespace: v.namespace },
        spec: { selector: { matchLabels: { 'app.kubernetes.io/name': name } }, endpoints: [{ port: 'https-metrics', interval: '30s', scheme: 'https' }] },
      }
      for name in ['kubelet', 'kube-apiserver', 'coredns']
    },
  },
  nodeExporter: {
    local v = $.values.common,
    daemonset: k.apps.v1.daemonSet.new('node-exporter', [
      k.core.v1.container.new('node-exporter', 'quay.io/prometheus/node-exporter:v' + v.versions.nodeExporter)
      + k.core.v1.container.withArgs(['--web.listen-address=127.0.0.1:9100', '--path.sysfs=/host/sys', '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/k3s/containerd/.+|var/lib/docker/.+|var/lib/kubelet/pods/.+)($|/)'])
      + k.core.v1.container.resources.withLimits({ cpu: '250m', memory: '180Mi' }),
    ], { 'app.kubernetes.io/name': 'node-exporter' }) + k.meta.withNamespace(v.namespace),
  },
}
