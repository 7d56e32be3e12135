local k = import 'k.libsonnet';
function(cluster='dev', lokiUrl='http://loki-gateway.logging.svc/loki/api/v1/push')
  local scrapeConfig(name, role, relabels=[]) = {
    job_name: name, kubernetes_sd_configs: [{ role: role }],
    pipeline_stages: [{ cri: {} }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: '__host__' },
      { action: 'labelmap', regex: '__meta_kubernetes_pod_label_(.+)' },
      { action: 'replace', replacement: '$1', separator: '/', source_labels: ['__meta_kubernetes_namespace', '__meta_kubernetes_pod_name'], target_label: 'job' },
      { replacement: '/var/log/pods/*$1/*.log', separator: '/', source_labels: ['__meta_kubernetes_pod_uid', '__meta_kubernetes_pod_container_name'], target_label: '__path__' },
    ] + relabels,
  };
  local config = {
    server: { http_listen_port: 3101, log_level: 'info' },
    clients: [{ url: lokiUrl, external_labels: { cluster: cluster }, backoff_config: { min_period: '500ms', max_period: '5m', max_retries: 10 } }],
    positions: { filename: '/run/promtail/positions.yaml' },
    scrape_configs: [scrapeConfig('kubernetes-pods', 'pod'), scrapeConfig('kubernetes-pods-app', 'pod', [{ action: 'drop', regex: '', source_labels: ['__meta_kubernetes_pod_label_app'] }])],
    limits_config: { readline_rate: 10000, readline_burst: 20000, max_line_size: '256KB' },
  };
  [
    k.core.v1.configMap.new('promtail', { 'promtail.yaml': std.manifestYamlDoc(config, indent_array_in_object=true, quote_keys=false) }) + k.meta.withNamespace('logging'),
    k.apps.v1.daemonSet.new('promtail', [
      k.core.v1.container.new('promtail', 'grafana/promtail:3.2.0')
      + k.core.v1.container.withArgs(['-config.file=/etc/promtail/promtail.yaml', '-config.expand-env=true'])
      + k.core.v1.container.withVolumeMounts([k.core.v1.volumeMount.new('config', '/etc/promtail', readOnly=true), k.core.v1.volumeMount.new('run', '/run/promtail')]),
    ]) + k.meta.withNamespace('logging') + k.apps.v1.deployment.spec.template.spec.withVolumes([k.core.v1.volume.fromConfigMap('config', 'promtail'), k.core.v1.volume.fromEmptyDir('run')])
    + k.apps.v1.deployment.spec.template.spec.withTolerations([{ effect: 'NoSchedule', operator: 'Exists' }]),
  ]
