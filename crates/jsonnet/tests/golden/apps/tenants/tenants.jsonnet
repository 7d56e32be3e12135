local k = import 'k.libsonnet';
local tenants = import 'tenants.libsonnet';
local rbac = k.rbac.v1;
{
  [t.name]: {
    namespace: k.core.v1.namespace.new('team-' + t.name) + k.meta.withLabels({ 'tenant': t.name, 'pod-security.kubernetes.io/enforce': 'restricted' }),
    quota: k.core.v1.resourceQuota.new('quota', { 'requests.cpu': t.quota.cpu, 'requests.memory': t.quota.memory, pods: t.quota.pods }) + k.meta.withNamespace('team-' + t.name),
    role: rbac.role.new('tenant-admin', [rbac.policyRule.new(['', 'apps', 'batch'], ['*'], ['*']), rbac.policyRule.new(['networking.k8s.io'], ['ingresses', 'networkpolicies'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'])]) + k.meta.withNamespace('team-' + t.name),
    [if std.length(t.admins) > 0 then 'binding']: rbac.roleBinding.new('tenant-admins', 'tenant-admin', [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: u } for u in t.admins] + [rbac.subject.group('team-' + t.name)]) + k.meta.withNamespace('team-' + t.name),
    [if !t.egress then 'denyEgress']: k.networking.v1.networkPolicy.new('default-deny', {}, []) + k.meta.withNamespace('team-' + t.name),
  }
  for t in tenants
}
