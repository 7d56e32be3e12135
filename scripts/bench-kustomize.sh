#!/usr/bin/env bash
# Benchmarks Kustomize rendering: `kubectl kustomize` (the reference, Kustomize v5.5.0) against
# `tack render` on generated trees, and checks that both outputs are byte-identical.
#
# Usage: cargo build --release -p tack-cli && scripts/bench-kustomize.sh
# Environment:
#   TACK_BIN    tack binary (default target/release/tack, i.e. the real `tack render`); if it is missing
#               or fails, tack is "n/a"
#   KUBECTL     kubectl binary (default kubectl)
#   SIZES       service counts of the synthetic trees (default "50 100 200 300"; "" for none)
#   REALISTIC   1 (default) to add the kube-prometheus-sized tree, 0 to skip it
#   RUNS        timed runs per tool and tree, the median is reported (default 3)
#   BENCH_DIR   where trees and outputs go (default: a fresh temporary directory, removed at exit
#               unless KEEP=1)
#
#   MODE        overlays (default): a synthetic tree is rendered as its three overlay
#               kustomizations, one after the other (times summed, peak RSS = the largest of the
#               three, outputs concatenated for the comparison); aggregate: render the top-level
#               kustomization that includes all three overlays (a much heavier single build:
#               Kustomize's name-reference pass is quadratic in the number of objects)
#
# Synthetic tree "svcN": N services, each a base with a Deployment, a Service, an HPA and a
# configMapGenerator; three overlays (dev, staging, prod), each with namePrefix, labels, images, a
# strategic-merge patch and a JSON 6902 patch, so the output has 4 x N x 3 objects. A top-level
# kustomization aggregating the three overlays is generated as well (used by MODE=aggregate).
# Realistic tree "kube-prometheus-like": ~130 objects, ~5 MB: big CRDs, many ServiceMonitors, RBAC,
# Deployments and big dashboard ConfigMaps, under a kustomization setting namespace and labels.
#
# Runs are sequential (the machine is shared); both tools are measured in the same run, one right after
# the other, and the 1-minute load average before each tree is printed next to its figures.
# Peak memory comes from GNU time (`/usr/bin/time -v`) when it is installed, otherwise from sampling
# VmHWM in /proc every 5 ms (a sampled peak: short processes may be under-reported).
# Output: a markdown table on stdout.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TACK_BIN="${TACK_BIN:-$ROOT/target/release/tack}"
KUBECTL="${KUBECTL:-kubectl}"
SIZES="${SIZES-50 100 200 300}"
REALISTIC="${REALISTIC:-1}"
RUNS="${RUNS:-3}"
MODE="${MODE:-overlays}"
export LC_ALL=C

TIME_BIN="${TIME_BIN-/usr/bin/time}"
if [ ! -x "$TIME_BIN" ] || ! "$TIME_BIN" -v true >/dev/null 2>&1; then
  TIME_BIN=""
  echo "note: GNU time (/usr/bin/time) is missing; peak memory is sampled from /proc" >&2
fi
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
  echo "error: $KUBECTL not found" >&2
  exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "error: python3 is needed to generate the realistic tree" >&2
  exit 2
fi

if [ -n "${BENCH_DIR:-}" ]; then
  mkdir -p "$BENCH_DIR"
  WORK="$(cd "$BENCH_DIR" && pwd)"
else
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-kustomize.XXXXXX")"
  if [ "${KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$WORK"' EXIT
  fi
fi

log() { echo "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Tree generators

gen_synthetic() { # dir N
  local dir="$1" n="$2" i env
  rm -rf "$dir"
  mkdir -p "$dir/base" "$dir/overlays"
  for ((i = 1; i <= n; i++)); do
    local s
    s="$(printf 'svc%03d' "$i")"
    mkdir -p "$dir/base/$s"
    cat >"$dir/base/$s/kustomization.yaml" <<EOF
resources:
- deployment.yaml
- service.yaml
- hpa.yaml
configMapGenerator:
- name: $s-config
  literals:
  - SERVICE_NAME=$s
  - LOG_LEVEL=info
  - PORT=8080
EOF
    cat >"$dir/base/$s/deployment.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $s
  labels:
    app: $s
spec:
  replicas: 2
  selector:
    matchLabels:
      app: $s
  template:
    metadata:
      labels:
        app: $s
    spec:
      containers:
      - name: app
        image: registry.example.com/team/app:1.0.0
        ports:
        - containerPort: 8080
          name: http
        envFrom:
        - configMapRef:
            name: $s-config
        readinessProbe:
          httpGet:
            path: /healthz
            port: http
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
      - name: proxy
        image: envoyproxy/envoy:v1.30.0
        args: ["--config-path", "/etc/envoy/envoy.yaml"]
EOF
    cat >"$dir/base/$s/service.yaml" <<EOF
apiVersion: v1
kind: Service
metadata:
  name: $s
  labels:
    app: $s
spec:
  selector:
    app: $s
  ports:
  - name: http
    port: 80
    targetPort: http
EOF
    cat >"$dir/base/$s/hpa.yaml" <<EOF
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: $s
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: $s
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 75
EOF
  done
  for env in dev staging prod; do
    mkdir -p "$dir/overlays/$env"
    {
      echo "namePrefix: $env-"
      echo "labels:"
      echo "- pairs:"
      echo "    env: $env"
      echo "    team: payments"
      echo "  includeSelectors: true"
      echo "images:"
      echo "- name: registry.example.com/team/app"
      echo "  newTag: 1.1.0-$env"
      echo "- name: envoyproxy/envoy"
      echo "  newName: mirror.example.com/envoy"
      echo "patches:"
      echo "- target:"
      echo "    kind: Deployment"
      echo "  patch: |-"
      echo "    apiVersion: apps/v1"
      echo "    kind: Deployment"
      echo "    metadata:"
      echo "      name: any"
      echo "    spec:"
      echo "      template:"
      echo "        spec:"
      echo "          containers:"
      echo "          - name: app"
      echo "            env:"
      echo "            - name: ENVIRONMENT"
      echo "              value: $env"
      echo "            resources:"
      echo "              limits:"
      echo "                memory: 256Mi"
      echo "- target:"
      echo "    kind: HorizontalPodAutoscaler"
      echo "  patch: |-"
      echo "    - op: replace"
      echo "      path: /spec/maxReplicas"
      echo "      value: 20"
      echo "    - op: add"
      echo "      path: /metadata/annotations"
      echo "      value:"
      echo "        overlay: $env"
      echo "resources:"
      for ((i = 1; i <= n; i++)); do
        printf -- '- ../../base/svc%03d\n' "$i"
      done
    } >"$dir/overlays/$env/kustomization.yaml"
  done
  cat >"$dir/kustomization.yaml" <<EOF
resources:
- overlays/dev
- overlays/staging
- overlays/prod
EOF
}

gen_realistic() { # dir
  local dir="$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  python3 - "$dir" <<'PY'
import json, os, sys

root = sys.argv[1]
man = os.path.join(root, "manifests")
os.makedirs(man, exist_ok=True)
files = []

def write(name, text):
    with open(os.path.join(man, name), "w") as f:
        f.write(text)
    files.append("manifests/" + name)

def schema(depth, width, tag):
    # A deterministic, deeply nested OpenAPI v3 schema, like the big monitoring CRDs.
    if depth == 0:
        return {"type": "string", "description": "Leaf field %s. Describes a setting that users of the operator may set." % tag}
    props = {}
    for i in range(width):
        key = "field%s%d" % (tag, i)
        if i % 3 == 0:
            props[key] = {"type": "array", "description": "List of %s items." % key,
                          "items": schema(depth - 1, width, tag + str(i))}
        elif i % 3 == 1:
            props[key] = schema(depth - 1, width, tag + str(i))
        else:
            props[key] = {"type": "integer", "format": "int32", "description": "Number %s." % key}
    return {"type": "object", "description": "Object %s." % tag, "properties": props}

def to_yaml(obj):
    # JSON is valid YAML; keep the documents readable but compact.
    return json.dumps(obj, indent=1, sort_keys=False) + "\n"

crd_kinds = ["Alertmanager", "AlertmanagerConfig", "PodMonitor", "Probe", "Prometheus",
             "PrometheusAgent", "PrometheusRule", "ScrapeConfig", "ServiceMonitor", "ThanosRuler"]
for k in crd_kinds:
    plural = k.lower() + "s"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": plural + ".monitoring.example.com",
                     "annotations": {"controller-gen.kubebuilder.io/version": "v0.16.0"}},
        "spec": {
            "group": "monitoring.example.com",
            "names": {"kind": k, "listKind": k + "List", "plural": plural, "singular": k.lower(),
                      "categories": ["monitoring"]},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "subresources": {"status": {}},
                          "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                              "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                              "metadata": {"type": "object"},
                              "spec": schema(4 if k in ("Probe", "ScrapeConfig") else 5, 6, k[:2])}}}}],
        },
    }
    write("0-crd-%s.yaml" % plural, to_yaml(crd))

components = ["alertmanager", "blackbox-exporter", "grafana", "kube-state-metrics",
              "node-exporter", "operator", "adapter", "prometheus"]
for c in components:
    write("%s-serviceaccount.yaml" % c,
          "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n  labels:\n    app.kubernetes.io/name: %s\n" % (c, c))
    rules = "".join(
        "- apiGroups:\n  - \"%s\"\n  resources:\n  - %s\n  verbs:\n  - get\n  - list\n  - watch\n" % (g, r)
        for g, r in [("", "pods"), ("", "services"), ("", "endpoints"), ("apps", "deployments"),
                     ("monitoring.example.com", "servicemonitors"), ("", "configmaps")])
    write("%s-clusterrole.yaml" % c,
          "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: %s\nrules:\n%s" % (c, rules))
    write("%s-clusterrolebinding.yaml" % c,
          "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: %s\n"
          "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: %s\n"
          "subjects:\n- kind: ServiceAccount\n  name: %s\n  namespace: monitoring\n" % (c, c, c))
    write("%s-service.yaml" % c,
          "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  labels:\n    app.kubernetes.io/name: %s\n"
          "spec:\n  ports:\n  - name: web\n    port: 9090\n    targetPort: web\n  - name: metrics\n    port: 8443\n"
          "    targetPort: metrics\n  selector:\n    app.kubernetes.io/name: %s\n" % (c, c, c))
    write("%s-deployment.yaml" % c,
          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  labels:\n    app.kubernetes.io/name: %s\n"
          "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: %s\n"
          "  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: %s\n"
          "      annotations:\n        kubectl.kubernetes.io/default-container: %s\n"
          "    spec:\n      serviceAccountName: %s\n      nodeSelector:\n        kubernetes.io/os: linux\n"
          "      securityContext:\n        runAsNonRoot: true\n        runAsUser: 65534\n"
          "      containers:\n      - name: %s\n        image: quay.example.com/monitoring/%s:v0.75.0\n"
          "        args:\n        - --web.listen-address=:9090\n        - --log.level=info\n"
          "        ports:\n        - containerPort: 9090\n          name: web\n"
          "        resources:\n          limits:\n            cpu: 200m\n            memory: 200Mi\n"
          "          requests:\n            cpu: 100m\n            memory: 100Mi\n"
          "        volumeMounts:\n        - name: config\n          mountPath: /etc/config\n"
          "      - name: kube-rbac-proxy\n        image: quay.example.com/brancz/kube-rbac-proxy:v0.18.0\n"
          "        args: [\"--secure-listen-address=:8443\", \"--upstream=http://127.0.0.1:9090/\"]\n"
          "        ports:\n        - containerPort: 8443\n          name: metrics\n"
          "      volumes:\n      - name: config\n        configMap:\n          name: %s-config\n"
          % (c, c, c, c, c, c, c, c, c))
    write("%s-networkpolicy.yaml" % c,
          "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: %s\nspec:\n"
          "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: %s\n  policyTypes:\n  - Egress\n  - Ingress\n"
          "  egress:\n  - {}\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n"
          "          app.kubernetes.io/name: prometheus\n    ports:\n    - port: 9090\n      protocol: TCP\n" % (c, c))
    write("%s-config.yaml" % c,
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config\ndata:\n  config.yaml: |\n%s" %
          (c, "".join("    setting_%d: value-%d\n" % (i, i) for i in range(40))))

for i in range(50):
    write("servicemonitor-%02d.yaml" % i,
          "apiVersion: monitoring.example.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: target-%02d\n"
          "  labels:\n    app.kubernetes.io/name: target-%02d\nspec:\n  endpoints:\n"
          "  - bearerTokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n    interval: 30s\n"
          "    port: https-metrics\n    scheme: https\n    tlsConfig:\n      insecureSkipVerify: true\n"
          "    relabelings:\n    - action: replace\n      regex: (.*)\n      replacement: $1\n"
          "      sourceLabels:\n      - __meta_kubernetes_pod_node_name\n      targetLabel: instance\n"
          "  jobLabel: app.kubernetes.io/name\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: target-%02d\n"
          % (i, i, i))

for i in range(8):
    rules = []
    for j in range(60):
        rules.append({"alert": "Alert%d_%d" % (i, j),
                      "annotations": {"description": "Instance {{ $labels.instance }} reports a problem number %d in group %d that lasted more than 10 minutes." % (j, i),
                                      "summary": "Problem %d" % j},
                      "expr": "sum(rate(http_requests_total{job=\"job-%d\",code=~\"5..\"}[5m])) / sum(rate(http_requests_total{job=\"job-%d\"}[5m])) > 0.0%d" % (j, j, (j % 9) + 1),
                      "for": "10m", "labels": {"severity": "warning" if j % 2 else "critical"}})
    pr = {"apiVersion": "monitoring.example.com/v1", "kind": "PrometheusRule",
          "metadata": {"name": "rules-%d" % i}, "spec": {"groups": [{"name": "group-%d" % i, "rules": rules}]}}
    write("prometheusrule-%d.yaml" % i, to_yaml(pr))

for i in range(8):
    panels = [{"id": p, "type": "timeseries", "title": "Panel %d of dashboard %d" % (p, i),
               "gridPos": {"h": 8, "w": 12, "x": (p % 2) * 12, "y": p * 8},
               "targets": [{"expr": "sum by (pod) (rate(container_cpu_usage_seconds_total{namespace=\"$namespace\",pod=~\"$pod\"}[5m]))", "refId": "A", "legendFormat": "{{pod}}"}],
               "fieldConfig": {"defaults": {"unit": "short", "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 80}]}}}}
              for p in range(130)]
    dash = json.dumps({"title": "Dashboard %d" % i, "uid": "dash-%d" % i, "panels": panels, "schemaVersion": 39}, indent=2)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "grafana-dashboard-%d" % i},
          "data": {"dashboard-%d.json" % i: dash}}
    write("grafana-dashboard-%d.yaml" % i, to_yaml(cm))

with open(os.path.join(root, "kustomization.yaml"), "w") as f:
    f.write("namespace: monitoring\nlabels:\n- pairs:\n    app.kubernetes.io/part-of: kube-prometheus\n")
    f.write("resources:\n")
    for p in sorted(files):
        f.write("- %s\n" % p)
PY
}

# ---------------------------------------------------------------------------------------------
# Measurement

# measure NAME OUTFILE CMD... : runs CMD RUNS times; sets M_SECS (median wall seconds), M_CPU (median
# user + system CPU seconds, from GNU time; n/a without it), M_MIB
# (peak RSS of the median run, MiB) and M_OK (1 if every run exited 0). stdout of the last run
# goes to OUTFILE.
measure() {
  local name="$1" out="$2"
  shift 2
  local r secs=() rss=() cpu=() ok=1
  for ((r = 1; r <= RUNS; r++)); do
    local tf="$WORK/time.$name.$r" start end rc
    start="$(date +%s.%N)"
    if [ -n "$TIME_BIN" ]; then
      "$TIME_BIN" -v -o "$tf" "$@" >"$out" 2>"$WORK/stderr.$name" && rc=0 || rc=$?
    else
      run_sampled "$tf" "$out" "$WORK/stderr.$name" "$@" && rc=0 || rc=$?
    fi
    end="$(date +%s.%N)"
    if [ "$rc" -ne 0 ]; then
      ok=0
      break
    fi
    secs+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
    rss+=("$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$tf")")
    cpu+=("$(awk -F': ' '/User time|System time/ { t += $2; n++ } END { if (n) printf "%.3f", t; else print "n/a" }' "$tf")")
  done
  M_OK=$ok
  M_SECS="n/a"
  M_MIB="n/a"
  M_CPU="n/a"
  if [ "$ok" -eq 1 ]; then
    local mid=$(((RUNS - 1) / 2)) sorted
    sorted="$(for ((r = 0; r < RUNS; r++)); do echo "${secs[$r]} ${rss[$r]}"; done | sort -n | sed -n "$((mid + 1))p")"
    M_SECS="${sorted%% *}"
    M_MIB="${sorted##* }"
    M_CPU="$(for ((r = 0; r < RUNS; r++)); do echo "${cpu[$r]}"; done | sort -n | sed -n "$((mid + 1))p")"
  fi
}

# run_sampled TIMEFILE OUT ERR CMD... : runs CMD, sampling the largest VmHWM of its process tree from
# /proc; writes "Maximum resident set size (kbytes): N" to TIMEFILE like GNU time does.
run_sampled() {
  local tf="$1" out="$2" err="$3" pid peak=0 p hwm
  shift 3
  "$@" >"$out" 2>"$err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for p in $pid $(pgrep -P "$pid" 2>/dev/null); do
      hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)"
      if [ -n "$hwm" ] && [ "$hwm" -gt "$peak" ]; then peak="$hwm"; fi
    done
    sleep 0.005
  done
  wait "$pid"
  local rc=$?
  echo "Maximum resident set size (kbytes): $peak" >"$tf"
  return $rc
}

load_avg() { cut -d' ' -f1 /proc/loadavg; }

TACK_OK=0
if [ -x "$TACK_BIN" ]; then
  TACK_OK=1
else
  log "tack binary $TACK_BIN not found: tack is reported as n/a"
fi

# Renders each directory given after "--" in turn with TOOL SUBCOMMAND DIR, stopping at the first
# failure; stdout of the builds is concatenated.
RENDER_EACH='tool="$1"; sub="$2"; shift 3; for d in "$@"; do "$tool" "$sub" "$d" || exit 1; done'

rows=()
bench_tree() { # label dir...
  local label="$1" objects ks km kc ts tm tc speed cspeed ident load
  shift
  load="$(load_avg)"
  log "== $label: kubectl kustomize ($# build(s))"
  measure kubectl "$WORK/$label.kubectl.yaml" bash -c "$RENDER_EACH" render-each "$KUBECTL" kustomize -- "$@"
  if [ "$M_OK" -ne 1 ]; then
    log "kubectl kustomize failed on $label:"
    cat "$WORK/stderr.kubectl" >&2
    rows+=("| $label | n/a | failed | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | $load |")
    return
  fi
  ks="$M_SECS"
  km="$M_MIB"
  kc="$M_CPU"
  objects="$(grep -c '^kind:' "$WORK/$label.kubectl.yaml")"
  ts="n/a" tm="n/a" tc="n/a" speed="n/a" cspeed="n/a" ident="n/a"
  if [ "$TACK_OK" -eq 1 ]; then
    log "== $label: tack render"
    measure tack "$WORK/$label.tack.yaml" bash -c "$RENDER_EACH" render-each "$TACK_BIN" render -- "$@"
    if [ "$M_OK" -eq 1 ]; then
      ts="$M_SECS"
      tm="$M_MIB"
      tc="$M_CPU"
      cspeed="$(awk -v a="$kc" -v b="$tc" 'BEGIN { if (b > 0 && a != "n/a") printf "%.1fx", a / b; else print "n/a" }')"
      speed="$(awk -v a="$ks" -v b="$ts" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }')"
      if cmp -s "$WORK/$label.kubectl.yaml" "$WORK/$label.tack.yaml"; then
        ident="identical"
      else
        ident="differing"
      fi
    else
      log "tack render failed on $label (reported as n/a):"
      head -n 5 "$WORK/stderr.tack" >&2
    fi
  fi
  rows+=("| $label | $objects | $ks | $ts | $speed | $kc | $tc | $cspeed | $km | $tm | $ident | $load |")
}

log "kubectl: $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"
log "tack: $TACK_BIN"
log "work directory: $WORK; runs per measurement: $RUNS (median); mode: $MODE"

for n in $SIZES; do
  gen_synthetic "$WORK/svc$n" "$n"
  if [ "$MODE" = aggregate ]; then
    bench_tree "svc$n-aggregate" "$WORK/svc$n"
  else
    bench_tree "svc$n" "$WORK/svc$n/overlays/dev" "$WORK/svc$n/overlays/staging" "$WORK/svc$n/overlays/prod"
  fi
done
if [ "$REALISTIC" = 1 ]; then
  if ! gen_realistic "$WORK/kube-prometheus-like"; then
    log "generating the realistic tree failed"
    exit 1
  fi
  log "realistic tree: $(find "$WORK/kube-prometheus-like" -type f | wc -l) files, $(du -sh "$WORK/kube-prometheus-like" | cut -f1)"
  bench_tree "kube-prometheus-like" "$WORK/kube-prometheus-like"
fi

echo "| tree | objects | kubectl s | tack s | speed-up | kubectl CPU s | tack CPU s | CPU ratio | kubectl peak MiB | tack peak MiB | identical? | load |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
for r in "${rows[@]}"; do
  echo "$r"
done
