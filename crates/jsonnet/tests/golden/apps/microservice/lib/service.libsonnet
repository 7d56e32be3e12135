local k = import 'k.libsonnet';
local c = k.core.v1.container;
{
  new(name, image, env):: {
    local labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': name + '-' + env.name, 'app.kubernetes.io/part-of': 'shop' },
    local container = c.new(name, '%s:%s' % [image, env.tag])
      + c.withPorts([k.core.v1.containerPort.newNamed(8080, 'http'), k.core.v1.containerPort.newNamed(9090, 'metrics')])
      + c.withEnv([k.core.v1.envVar.new('ENVIRONMENT', env.name), k.core.v1.envVar.new('LOG_LEVEL', if env.name == 'prod' then 'info' else 'debug'), k.core.v1.envVar.fromSecretRef('DB_PASSWORD', name + '-db', 'password'), k.core.v1.envVar.fromFieldPath('POD_NAME', 'metadata.name')])
      + c.resources.withRequests({ cpu: env.cpu, memory: env.memory })
      + c.resources.withLimits({ memory: env.memory })
      + c.readinessProbe.httpGet.withPath('/healthz') + c.readinessProbe.httpGet.withPort('http')
      + c.securityContext.withRunAsNonRoot(true) + c.securityContext.withReadOnlyRootFilesystem(true),
    deployment: k.apps.v1.deployment.new(name, env.replicas, [container], labels)
      + k.meta.withNamespace(env.namespace) + k.meta.withLabels(labels)
      + k.apps.v1.deployment.spec.strategy.rollingUpdate.withMaxSurge('25%')
      + k.apps.v1.deployment.spec.strategy.rollingUpdate.withMaxUnavailable(0)
      + k.apps.v1.deployment.spec.template.metadata.withAnnotationsMixin({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' }),
    service: k.core.v1.service.new(name, labels, [k.core.v1.servicePort.newNamed('http', 80, 'http')]) + k.meta.withNamespace(env.namespace),
    [if env.replicas > 1 then 'pdb']: k.policy.v1.podDisruptionBudget.new(name, labels, std.floor(env.replicas / 2)) + k.meta.withNamespace(env.namespace),
    [if std.objectHas(env, 'autoscale') then 'hpa']: k.autoscaling.v2.horizontalPodAutoscaler.new(name, name, env.replicas, env.autoscale.max, env.autoscale.cpu) + k.meta.withNamespace(env.namespace),
    [if std.objectHas(env, 'host') then 'ingress']: k.networking.v1.ingress.new(name, env.host, name, 80, tls=name + '-tls') + k.meta.withNamespace(env.namespace) + k.meta.withAnnotations({ 'cert-manager.io/cluster-issuer': 'letsencrypt' }),
  },
}
