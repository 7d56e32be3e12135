local k = import 'k.libsonnet';
{
  _config:: { name: 'grafana', image: 'grafana/grafana:11.2.0', namespace: 'default', port: 3000 },
  grafana: {
    deployment: k.apps.v1.deployment.new($._config.name, 1, [k.core.v1.container.new($._config.name, $._config.image) + k.core.v1.container.withPorts([k.core.v1.containerPort.newNamed($._config.port, 'http')])]),
    service: k.core.v1.service.new($._config.name, { name: $._config.name }, [k.core.v1.servicePort.newNamed('http', $._config.port, 'http')]) + k.core.v1.service.spec.withType('NodePort'),
  },
}
