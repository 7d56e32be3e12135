local svc = import 'lib/service.libsonnet';
local envs = import 'environments.libsonnet';
function(env, services='cart,checkout,catalog')
  local e = envs[env];
  std.flattenArrays([
    std.objectValues(svc.new(name, 'registry.example.com/shop/' + name, e))
    for name in std.split(services, ',')
  ])
