{
  _config+:: { kubeStateMetricsSelector: 'job="kube-state-metrics"', namespaceSelector: '', runbookURLPattern: 'https://runbooks.prometheus-operator.dev/runbooks/kubernetes/%s', podNotReadyFor: '15m' },
  prometheusAlerts+:: {
    groups+: [{
      name: 'kubernetes-apps',
      rules: [
        {
          alert: 'KubePodCrashLooping',
          expr: 'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", %(kubeStateMetricsSelector)s}[5m]) >= 1' % $._config,
          'for': '15m', labels: { severity: 'warning' },
          annotations: { description: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is in waiting state (reason: "CrashLoopBackOff").', summary: 'Pod is crash looping.' },
        },
        {
          alert: 'KubePodNotReady',
          expr: |||
            sum by (namespace, pod, %(clusterLabel)s) (
              max by(namespace, pod, %(clusterLabel)s) (
                kube_pod_status_phase{%(kubeStateMetricsSelector)s, phase=~"Pending|Unknown|Failed"}
              ) * on(namespace, pod, %(clusterLabel)s) group_left(owner_kind) topk by(namespace, pod, %(clusterLabel)s) (
                1, max by(namespace, pod, owner_kind, %(clusterLabel)s) (kube_pod_owner{owner_kind!="Job"})
              )
            ) > 0
          ||| % $._config,
          'for': $._config.podNotReadyFor, labels: { severity: 'warning' },
          annotations: { summary: 'Pod has been in a non-ready state for more than %s.' % $._config.podNotReadyFor },
        },
        {
          alert: 'KubeDeploymentReplicasMismatch',
          expr: 'kube_deployment_spec_replicas{%(kubeStateMetricsSelector)s} > kube_deployment_status_replicas_available{%(kubeStateMetricsSelector)s}' % $._config,
          'for': '15m', labels: { severity: 'warning' },
        },
      ],
    }],
  },
  prometheusRules+:: { groups+: [{ name: 'node.rules', rules: [{ record: 'node:node_num_cpu:sum', expr: 'count by (%(clusterLabel)s, node) (node_cpu_seconds_total{mode="idle"})' % $._config }] }] },
}
