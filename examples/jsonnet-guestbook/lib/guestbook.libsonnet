local k = import 'k.libsonnet';
local deployment = k.apps.v1.deployment;
local container = k.core.v1.container;
local port = k.core.v1.containerPort;
local service = k.core.v1.service;
{
  _config:: { namespace: 'guestbook', replicas: 1, image: 'gcr.io/google-samples/gb-frontend:v4', servicePort: 80 },
  local c = self._config,
  frontend: {
    deployment: deployment.new('frontend', c.replicas, [
      container.new('php-redis', c.image)
      + container.withPorts([port.newNamed(80, 'http')])
      + container.resources.withRequests({ cpu: '100m', memory: '100Mi' })
      + container.withEnv([k.core.v1.envVar.new('GET_HOSTS_FROM', 'dns')]),
    ], { app: 'guestbook', tier: 'frontend' }) + k.meta.withNamespace(c.namespace),
    service: service.new('frontend', { app: 'guestbook', tier: 'frontend' }, [k.core.v1.servicePort.new(c.servicePort, 80)])
             + k.meta.withNamespace(c.namespace),
  },
  redis: {
    deployment: deployment.new('redis-leader', 1, [container.new('leader', 'docker.io/redis:6.0.5') + container.withPorts(port.new(6379))], { app: 'redis', role: 'leader' })
                + k.meta.withNamespace(c.namespace),
    service: service.new('redis-leader', { app: 'redis', role: 'leader' }, [k.core.v1.servicePort.new(6379, 6379)]) + k.meta.withNamespace(c.namespace),
  },
}
