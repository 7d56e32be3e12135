// The seed guestbook as Jsonnet: one application, environments as top-level arguments.
//   tack jsonnet -J vendor --tla-str env=qa main.jsonnet
// As a GitOps source: libs [vendor], tlas {env: qa} (or e2e); `namespace` overrides the environment's.
local guestbook = import 'lib/guestbook.libsonnet';
local envs = {
  qa: { namespace: 'guestbook-qa', replicas: 1 },
  e2e: { namespace: 'guestbook-e2e', replicas: 2, servicePort: 8080 },
};
function(env='qa', namespace='')
  assert std.objectHas(envs, env) : 'env must be one of %s, not %s' % [std.join(', ', std.objectFields(envs)), env];
  local config = envs[env] + (if namespace != '' then { namespace: namespace } else {});
  local app = guestbook { _config+: config };
  [app.frontend.deployment, app.frontend.service, app.redis.deployment, app.redis.service]
