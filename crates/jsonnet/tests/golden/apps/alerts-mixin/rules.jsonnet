local mixin = (import 'mixin/alerts.libsonnet') + { _config+:: { clusterLabel: std.extVar('clusterLabel') } };
local withRunbook(groups) = [g { rules: [r + (if std.objectHas(r, 'alert') then { annotations+: { runbook_url: mixin._config.runbookURLPattern % std.asciiLower(r.alert) } } else {}) for r in g.rules] } for g in groups];
{
  apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule',
  metadata: { name: 'kubernetes-monitoring-rules', namespace: 'monitoring', labels: { prometheus: 'k8s', role: 'alert-rules' } },
  spec: { groups: withRunbook(mixin.prometheusAlerts.groups + mixin.prometheusRules.groups) },
}
