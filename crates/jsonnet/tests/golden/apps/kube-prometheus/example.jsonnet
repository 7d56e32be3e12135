local kp = (import 'lib/prometheus.libsonnet') + {
  values+:: { common+: { namespace: 'observability' } },
};
{ ['setup/0namespace-namespace']: (import 'k.libsonnet').core.v1.namespace.new(kp.values.common.namespace) } +
{ ['prometheus-' + name]: kp.prometheus[name] for name in std.objectFields(kp.prometheus) if name != 'serviceMonitors' } +
{ ['prometheus-serviceMonitor-' + name]: kp.prometheus.serviceMonitors[name] for name in std.objectFields(kp.prometheus.serviceMonitors) } +
{ ['node-exporter-' + name]: kp.nodeExporter[name] for name in std.objectFields(kp.nodeExporter) }
