local g = import 'grafonnet/grafana.libsonnet';
local k = import 'k.libsonnet';
local cluster = g.template.query('cluster', 'label_values(up, cluster)');
local apiserver =
  g.dashboard.new('Kubernetes / API server', uid='09ec8aa1e996d6ffcd6817bbaff4db1b', tags=['kubernetes-mixin'])
  .addTemplate(g.template.datasource())
  .addTemplate(cluster)
  .addPanel(g.stat.new('Availability (30d) > 99.000%', 'apiserver_request:availability30d{verb="all", cluster="$cluster"}'), { h: 8, w: 6, x: 0, y: 0 })
  .addPanel(g.timeseries.new('Read SLI - Requests', unit='reqps')
            .addTarget('sum by (code) (code_resource:apiserver_request_total:rate5m{verb="read", cluster="$cluster"})', '{{ code }}')
            .addTarget('sum(rate(apiserver_request_total{verb="LIST"}[5m]))', 'list'), { h: 7, w: 12, x: 6, y: 0 })
  .addPanel(g.timeseries.new('Latency', unit='s').addTarget('histogram_quantile(0.99, sum by (le) (rate(apiserver_request_duration_seconds_bucket[5m])))', 'p99'), { h: 7, w: 6, x: 18, y: 0 });
local nodes =
  g.dashboard.new('Node Exporter / Nodes', uid='7d57716318ee0dddbac5a7f451fb7753', refresh='1m')
  .addPanel(g.timeseries.new('CPU Usage', unit='percentunit').addTarget('(1 - sum without (mode) (rate(node_cpu_seconds_total{mode=~"idle|iowait|steal"}[$__rate_interval])))', '{{cpu}}'), { h: 7, w: 12, x: 0, y: 0 })
  .addPanel(g.timeseries.new('Memory', unit='bytes').addTarget('node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes', 'used'), { h: 7, w: 12, x: 12, y: 0 });
local dashboards = { 'apiserver.json': apiserver, 'nodes.json': nodes };
{
  dashboards: k.core.v1.configMap.new('grafana-dashboards', { [name]: std.manifestJsonEx(dashboards[name], '    ') for name in std.objectFields(dashboards) })
              + k.meta.withNamespace('monitoring') + k.meta.withLabels({ grafana_dashboard: '1' }),
  datasources: k.core.v1.secret.new('grafana-datasources', { 'datasources.yaml': std.base64(std.manifestYamlDoc({ apiVersion: 1, datasources: [{ name: 'prometheus', type: 'prometheus', access: 'proxy', url: 'http://prometheus-k8s.monitoring.svc:9090', isDefault: true, jsonData: { timeInterval: '30s' } }] })) }),
}
