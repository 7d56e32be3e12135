local guestbook = import 'lib/guestbook.libsonnet';
local envs = {
  qa: { namespace: 'guestbook-qa', replicas: 1 },
  e2e: { namespace: 'guestbook-e2e', replicas: 2, servicePort: 8080 },
  prod: { namespace: 'guestbook', replicas: 3 },
};
function(env='qa')
  local app = guestbook { _config+: envs[env] };
  [app.frontend.deployment, app.frontend.service, app.redis.deployment, app.redis.service]
