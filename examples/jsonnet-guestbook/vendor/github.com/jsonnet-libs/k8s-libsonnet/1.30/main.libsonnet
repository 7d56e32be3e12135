// A small k8s-libsonnet in the style of github.com/jsonnet-libs/k8s-libsonnet: constructors and mixins.
local withName(name) = { metadata+: { name: name } };
local meta = {
  withName(name):: withName(name),
  withNamespace(ns):: { metadata+: { namespace: ns } },
  withLabels(labels):: { metadata+: { labels: labels } },
  withLabelsMixin(labels):: { metadata+: { labels+: labels } },
  withAnnotations(a):: { metadata+: { annotations: a } },
  withAnnotationsMixin(a):: { metadata+: { annotations+: a } },
};
local obj(apiVersion, kind, name) = { apiVersion: apiVersion, kind: kind } + withName(name) + { metadata+: {} };
{
  core:: { v1:: {
    container:: {
      new(name, image):: { name: name, image: image },
      withPorts(ports):: { ports: if std.isArray(ports) then ports else [ports] },
      withEnv(env):: { env: if std.isArray(env) then env else [env] },
      withEnvMixin(env):: { env+: if std.isArray(env) then env else [env] },
      withArgs(args):: { args: args },
      withCommand(c):: { command: c },
      withImagePullPolicy(p):: { imagePullPolicy: p },
      withVolumeMounts(m):: { volumeMounts: m },
      resources:: {
        withRequests(r):: { resources+: { requests: r } },
        withLimits(r):: { resources+: { limits: r } },
      },
      readinessProbe:: { httpGet:: { withPath(p):: { readinessProbe+: { httpGet+: { path: p } } }, withPort(p):: { readinessProbe+: { httpGet+: { port: p } } } } },
      securityContext:: { withRunAsNonRoot(b):: { securityContext+: { runAsNonRoot: b } }, withReadOnlyRootFilesystem(b):: { securityContext+: { readOnlyRootFilesystem: b } } },
    },
    containerPort:: {
      new(port):: { containerPort: port },
      newNamed(port, name):: { containerPort: port, name: name },
      withProtocol(p):: { protocol: p },
    },
    envVar:: {
      new(name, value):: { name: name, value: value },
      fromSecretRef(name, secret, key):: { name: name, valueFrom: { secretKeyRef: { name: secret, key: key } } },
      fromFieldPath(name, path):: { name: name, valueFrom: { fieldRef: { fieldPath: path } } },
    },
    service:: {
      new(name, selector, ports):: obj('v1', 'Service', name) + { spec: { selector: selector, ports: ports } },
      spec:: { withType(t):: { spec+: { type: t } }, withClusterIP(ip):: { spec+: { clusterIP: ip } } },
    },
    servicePort:: {
      new(port, targetPort):: { port: port, targetPort: targetPort },
      newNamed(name, port, targetPort):: { name: name, port: port, targetPort: targetPort },
    },
    configMap:: { new(name, data={}):: obj('v1', 'ConfigMap', name) + { data: data } },
    secret:: { new(name, data, type='Opaque'):: obj('v1', 'Secret', name) + { data: data, type: type } },
    namespace:: { new(name):: obj('v1', 'Namespace', name) },
    serviceAccount:: { new(name):: obj('v1', 'ServiceAccount', name) },
    volume:: {
      fromConfigMap(name, configMapName):: { name: name, configMap: { name: configMapName } },
      fromEmptyDir(name):: { name: name, emptyDir: {} },
    },
    volumeMount:: { new(name, mountPath, readOnly=false):: { name: name, mountPath: mountPath } + (if readOnly then { readOnly: true } else {}) },
    resourceQuota:: { new(name, hard):: obj('v1', 'ResourceQuota', name) + { spec: { hard: hard } } },
  } },
  apps:: { v1:: {
    local workload(kind, name, replicas, containers, podLabels) =
      obj('apps/v1', kind, name) + {
        spec: {
          selector: { matchLabels: podLabels },
          template: { metadata: { labels: podLabels }, spec: { containers: containers } },
        } + (if replicas == null then {} else { replicas: replicas }),
      },
    deployment:: {
      new(name, replicas=1, containers=[], podLabels={ name: name }):: workload('Deployment', name, replicas, containers, podLabels),
      spec:: {
        withReplicas(n):: { spec+: { replicas: n } },
        strategy:: { rollingUpdate:: { withMaxSurge(s):: { spec+: { strategy+: { rollingUpdate+: { maxSurge: s } } } }, withMaxUnavailable(u):: { spec+: { strategy+: { rollingUpdate+: { maxUnavailable: u } } } } } },
        template:: { spec:: {
          withServiceAccountName(n):: { spec+: { template+: { spec+: { serviceAccountName: n } } } },
          withVolumes(v):: { spec+: { template+: { spec+: { volumes: v } } } },
          withNodeSelector(s):: { spec+: { template+: { spec+: { nodeSelector: s } } } },
          withTolerations(t):: { spec+: { template+: { spec+: { tolerations: t } } } },
        }, metadata:: { withAnnotationsMixin(a):: { spec+: { template+: { metadata+: { annotations+: a } } } } } },
      },
    },
    statefulSet:: {
      new(name, replicas=1, containers=[], podLabels={ name: name }):: workload('StatefulSet', name, replicas, containers, podLabels) + { spec+: { serviceName: name } },
    },
    daemonSet:: {
      new(name, containers=[], podLabels={ name: name }):: workload('DaemonSet', name, null, containers, podLabels),
    },
  } },
  batch:: { v1:: { cronJob:: {
    new(name, schedule, containers):: obj('batch/v1', 'CronJob', name) + {
      spec: { schedule: schedule, jobTemplate: { spec: { template: { spec: { containers: containers, restartPolicy: 'OnFailure' } } } } },
    },
  } } },
  rbac:: { v1:: {
    role:: { new(name, rules):: obj('rbac.authorization.k8s.io/v1', 'Role', name) + { rules: rules } },
    clusterRole:: { new(name, rules):: obj('rbac.authorization.k8s.io/v1', 'ClusterRole', name) + { rules: rules } },
    roleBinding:: { new(name, role, subjects):: obj('rbac.authorization.k8s.io/v1', 'RoleBinding', name) + { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role }, subjects: subjects } },
    clusterRoleBinding:: { new(name, role, subjects):: obj('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', name) + { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: subjects } },
    policyRule:: { new(apiGroups, resources, verbs):: { apiGroups: apiGroups, resources: resources, verbs: verbs } },
    subject:: { serviceAccount(name, ns):: { kind: 'ServiceAccount', name: name, namespace: ns }, group(name):: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: name } },
  } },
  networking:: { v1:: { ingress:: {
    new(name, host, service, port, tls=null):: obj('networking.k8s.io/v1', 'Ingress', name) + {
      spec: {
        rules: [{ host: host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: port } } } }] } }],
      } + (if tls == null then {} else { tls: [{ hosts: [host], secretName: tls }] }),
    },
  }, networkPolicy:: {
    new(name, podSelector, ingress):: obj('networking.k8s.io/v1', 'NetworkPolicy', name) + { spec: { podSelector: podSelector, ingress: ingress, policyTypes: ['Ingress'] } },
  } } },
  autoscaling:: { v2:: { horizontalPodAutoscaler:: {
    new(name, target, min, max, cpu):: obj('autoscaling/v2', 'HorizontalPodAutoscaler', name) + {
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
        minReplicas: min, maxReplicas: max,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu } } }],
      },
    },
  } } },
  policy:: { v1:: { podDisruptionBudget:: {
    new(name, selector, minAvailable):: obj('policy/v1', 'PodDisruptionBudget', name) + { spec: { selector: { matchLabels: selector }, minAvailable: minAvailable } },
  } } },
  meta:: meta,
}
