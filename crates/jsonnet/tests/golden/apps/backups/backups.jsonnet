local k = import 'k.libsonnet';
local databases = std.extVar('databases');
local script = importstr 'scripts/backup.sh';
[
  k.batch.v1.cronJob.new('backup-' + db.name, db.schedule, [
    k.core.v1.container.new('backup', 'postgres:16-alpine')
    + k.core.v1.container.withCommand(['/bin/sh', '-c', script])
    + k.core.v1.container.withEnv([k.core.v1.envVar.fromSecretRef('DATABASE_URL', db.name + '-credentials', 'url')]),
  ]) + k.meta.withNamespace(std.extVar('namespace')) + k.meta.withAnnotations({ 'backup.example.com/retention-days': std.toString(db.retention) })
  for db in databases
] + [
  k.core.v1.configMap.new('backup-report', { 'report.txt': |||
    Backups configured: %(count)d
    Databases: %(names)s
    Total retention: %(days)d days
  ||| % { count: std.length(databases), names: std.join(', ', [db.name for db in databases]), days: std.sum([db.retention for db in databases]) } }),
]
