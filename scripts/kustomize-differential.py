#!/usr/bin/env python3
"""Randomized differential test of tack's Kustomize engine against `kubectl kustomize`.

Generates random kustomization trees (bases, overlays, components, prefixes/suffixes, labels
with every option, annotations, generators with every behaviour and options, patches: strategic
merge and JSON 6902, inline and from files, with and without targets; replacements, vars,
namespaces, images, replicas), builds each with kubectl and with tack, and reports every case
whose output differs or where one fails and the other does not.

Usage:
  scripts/kustomize-differential.py [--seed N] [--cases N] [--tack "CMD"] [--keep DIR]

  --tack   the command that renders a directory, DIR appended (default: "tack render");
           e.g. "target/debug/tack render" or the engine's example renderer
           "target/debug/examples/kustomize_render".
  --keep   directory where the failing cases are copied (default: /tmp/kustomize-differential).

Exit status 0 when every case agrees. Outputs are compared byte for byte; errors only as
"both failed" (the wording of messages is not compared).
"""

import argparse
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile

KUBECTL = os.environ.get("KUBECTL", "kubectl")

WORDS = ["alpha", "beta", "gamma", "delta", "web", "api", "db", "cache", "worker", "front"]
IMAGES = ["nginx", "redis", "busybox", "postgres", "example.com/team/app"]


def q(s):
    """A YAML double-quoted string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Gen:
    def __init__(self, rnd):
        self.r = rnd
        self.files = {}
        self.var_names = []

    def chance(self, p):
        return self.r.random() < p

    def word(self):
        return self.r.choice(WORDS)

    def label_value(self):
        return self.r.choice(["a", "b", "v1", "prod", "x-y", "1", "true", "on"])

    # ---- resources -------------------------------------------------------------------
    def deployment(self, name, app, with_var=None):
        args = ""
        if with_var:
            args = f"\n        args: [\"--peer=$({with_var})\"]"
        sel = f"\n  selector:\n    matchLabels:\n      app: {app}" if self.chance(0.7) else ""
        tmpl_labels = f"\n    metadata:\n      labels:\n        app: {app}" if self.chance(0.7) else ""
        env = ""
        if self.chance(0.5):
            env = "\n        envFrom:\n        - configMapRef:\n            name: cfg"
        vol = ""
        if self.chance(0.4):
            vol = "\n      volumes:\n      - name: s\n        secret:\n          secretName: creds"
        return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {self.r.randint(1, 3)}{sel}
  template:{tmpl_labels}
    spec:
      containers:
      - name: main
        image: {self.r.choice(IMAGES)}:{self.r.choice(['1.0', 'latest', '2'])}{args}{env}{vol}
"""

    def service(self, name, app):
        return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {app}
  ports:
  - port: {self.r.choice([80, 443, 8080])}
    targetPort: {self.r.choice([8080, 'http'])}
"""

    def statefulset(self, name):
        vct = ""
        if self.chance(0.5):
            vct = "\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      accessModes: [ReadWriteOnce]"
        return f"""apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
spec:
  serviceName: {name}
  template:
    spec:
      containers:
      - name: db
        image: postgres:16{vct}
"""

    def cronjob(self, name):
        return f"""apiVersion: batch/v1
kind: CronJob
metadata:
  name: {name}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: job
            image: busybox
"""

    def script_configmap(self, name):
        """A literal block scalar that ends the file without a final line break."""
        return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  run.sh: |\n    echo {self.word()}"

    def configmap(self, name):
        ann = ""
        if self.chance(0.3):
            ann = "\n  annotations:\n    note: " + self.r.choice(["8080", "true", "hello", "'1.5'"])
        return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}{ann}
data:
  key: {self.word()}
"""

    def sa_and_binding(self, name):
        return f"""apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {name}-binding
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
- kind: ServiceAccount
  name: {name}
"""

    def custom(self, name):
        return f"""apiVersion: example.com/v1
kind: Widget
metadata:
  name: {name}
spec:
  size: {self.r.randint(1, 9)}
  items:
  - name: a
    value: x
"""

    # ---- kustomization fields --------------------------------------------------------------
    def labels_block(self):
        out = "labels:\n"
        for _ in range(self.r.randint(1, 2)):
            out += f"- pairs:\n    {self.r.choice(['app', 'tier', 'team'])}: {q(self.label_value())}\n"
            if self.chance(0.5):
                out += f"  includeSelectors: {self.r.choice(['true', 'false'])}\n"
            if self.chance(0.5):
                out += f"  includeTemplates: {self.r.choice(['true', 'false'])}\n"
            if self.chance(0.15):
                out += "  fields:\n  - path: spec/extra/labels\n    kind: Widget\n    create: true\n"
        return out

    def common_labels(self):
        return f"commonLabels:\n  {self.r.choice(['app', 'env', 'tier'])}: {q(self.label_value())}\n"

    def common_annotations(self):
        return f"commonAnnotations:\n  {self.r.choice(['owner', 'note', 'prometheus.io/port'])}: {q(self.word())}\n"

    def generator(self, kind, name, behavior, prefix):
        out = f"- name: {name}\n"
        if behavior:
            out += f"  behavior: {behavior}\n"
        choice = self.r.random()
        if choice < 0.6:
            out += f"  literals:\n  - K{self.r.randint(1, 3)}={self.word()}\n"
        elif choice < 0.8:
            fname = f"{prefix}data-{self.r.randint(0, 999)}.env"
            self.files[fname] = f"E{self.r.randint(1, 3)}={self.word()}\n"
            out += f"  envs:\n  - {os.path.basename(fname)}\n"
        else:
            fname = f"{prefix}file-{self.r.randint(0, 999)}.txt"
            self.files[fname] = self.word() + "\n"
            out += f"  files:\n  - {os.path.basename(fname)}\n"
        opts = []
        if self.chance(0.2):
            opts.append("    disableNameSuffixHash: true\n")
        if self.chance(0.15):
            opts.append(f"    labels:\n      gen: {self.word()}\n")
        if self.chance(0.1):
            opts.append(f"    annotations:\n      note: {q(self.word())}\n")
        if self.chance(0.1):
            opts.append("    immutable: true\n")
        if opts:
            out += "  options:\n" + "".join(opts)
        if kind == "secret" and self.chance(0.2):
            out += "  type: " + self.r.choice(["Opaque", "kubernetes.io/tls-x"]) + "\n"
        return out

    def smp_patch(self, name, prefix, inline):
        body = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
      - name: main
        env:
        - name: MODE
          value: {self.word()}
"""
        if self.chance(0.3):
            body = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    patched: {q(self.word())}
spec:
  replicas: {self.r.randint(2, 5)}
"""
        if inline:
            return "- patch: |-\n" + "".join("    " + l + "\n" for l in body.rstrip("\n").split("\n"))
        fname = f"{prefix}patch-{self.r.randint(0, 9999)}.yaml"
        self.files[fname] = body
        return f"- path: {os.path.basename(fname)}\n"

    def json_patch(self, prefix, inline):
        ops = self.r.choice([
            "- op: add\n  path: /metadata/annotations/jp\n  value: added",
            "- op: replace\n  path: /spec/replicas\n  value: 4",
            "- op: add\n  path: /metadata/labels/jp\n  value: x",
        ])
        target = self.r.choice(["kind: Deployment", "kind: Deployment\n    name: web.*", "labelSelector: app=web"])
        if inline:
            body = "  patch: |-\n" + "".join("    " + l + "\n" for l in ops.split("\n"))
        else:
            fname = f"{prefix}json-{self.r.randint(0, 9999)}.yaml"
            self.files[fname] = ops + "\n"
            body = f"  path: {os.path.basename(fname)}\n"
        return f"- target:\n    {target}\n" + body

    def plugins(self, prefix):
        """Built-in plugin configs in `transformers:` / `generators:`, from a file."""
        kind = self.r.choice(["LabelTransformer", "PrefixSuffixTransformer", "AnnotationsTransformer",
                              "ConfigMapGenerator"])
        fname = f"{prefix}plugin-{self.r.randint(0, 9999)}.yaml"
        if kind == "LabelTransformer":
            body = (f"apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: lt\n"
                    f"labels:\n  plug: {q(self.label_value())}\nfieldSpecs:\n- path: metadata/labels\n  create: true\n")
        elif kind == "AnnotationsTransformer":
            body = (f"apiVersion: builtin\nkind: AnnotationsTransformer\nmetadata:\n  name: at\n"
                    f"annotations:\n  plug: {q(self.word())}\nfieldSpecs:\n- path: metadata/annotations\n  create: true\n")
        elif kind == "PrefixSuffixTransformer":
            body = (f"apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata:\n  name: ps\n"
                    f"prefix: pl-\nfieldSpecs:\n- path: metadata/name\n")
        else:
            body = (f"apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: meta-{self.word()}\n"
                    + (f"name: gen-{self.word()}\n" if self.chance(0.5) else "")
                    + f"literals:\n- P={self.word()}\n")
        field = "generators" if kind.endswith("Generator") else "transformers"
        if self.chance(0.4):
            return f"{field}:\n- |-\n" + "".join("  " + l + "\n" for l in body.rstrip("\n").split("\n"))
        self.files[fname] = body
        return f"{field}:\n- {os.path.basename(fname)}\n"

    def replacement(self):
        return self.r.choice([
            """replacements:
- source:
    kind: ConfigMap
    name: cfg
    fieldPath: data.key
  targets:
  - select:
      kind: Deployment
    fieldPaths:
    - spec.template.metadata.annotations.copied
    options:
      create: true
""",
            """replacements:
- source:
    kind: Service
    fieldPath: metadata.name
  targets:
  - select:
      kind: Deployment
    fieldPaths:
    - spec.template.spec.containers.[name=main].env.[name=SVC].value
    options:
      create: true
""",
        ])

    # ---- trees ---------------------------------------------------------------------------------
    def base(self, d, idx):
        res = []
        app = self.word()
        names = []
        var = None
        if self.chance(0.2):
            var = f"V{idx}_{self.r.randint(0, 99)}"
        web = "web" if idx == 0 else f"web{idx}"
        self.files[f"{d}deploy.yaml"] = self.deployment(web, app, with_var=var)
        res.append("deploy.yaml")
        names.append(web)
        if self.chance(0.7):
            self.files[f"{d}svc.yaml"] = self.service(web, app)
            res.append("svc.yaml")
        extra = []
        if self.chance(0.3):
            extra.append(("sts.yaml", self.statefulset(f"store{idx}")))
        if self.chance(0.3):
            extra.append(("cron.yaml", self.cronjob(f"nightly{idx}")))
        if self.chance(0.3):
            extra.append(("sa.yaml", self.sa_and_binding(f"runner{idx}")))
        if self.chance(0.2):
            extra.append(("widget.yaml", self.custom(f"gear{idx}")))
        if self.chance(0.3):
            extra.append(("plain-cm.yaml", self.configmap(f"plain{idx}")))
        if self.chance(0.1):
            extra.append(("script.yaml", self.script_configmap(f"script{idx}")))
        for fn, body in extra:
            self.files[d + fn] = body
            res.append(fn)
        k = "resources:\n" + "".join(f"- {x}\n" for x in res)
        k += "configMapGenerator:\n" + self.generator("cm", "cfg" if idx == 0 else f"cfg{idx}", "", d)
        if self.chance(0.4):
            k += "secretGenerator:\n" + self.generator("secret", "creds" if idx == 0 else f"creds{idx}", "", d)
        if var:
            k += f"vars:\n- name: {var}\n  objref:\n    apiVersion: v1\n    kind: Service\n    name: {web}\n" if "svc.yaml" in res else ""
            if "svc.yaml" not in res:
                self.files[f"{d}deploy.yaml"] = self.deployment(web, app)
        k += self.common_fields(d, top=False)
        self.files[f"{d}kustomization.yaml"] = k

    def common_fields(self, d, top):
        k = ""
        if self.chance(0.35):
            k += f"namePrefix: {self.word()}-\n"
        if self.chance(0.25):
            k += f"nameSuffix: -{self.word()}\n"
        if self.chance(0.3):
            k += f"namespace: {self.word()}\n"
        if self.chance(0.3):
            k += self.common_labels()
        if self.chance(0.3):
            k += self.labels_block()
        if self.chance(0.25):
            k += self.common_annotations()
        if self.chance(0.2):
            k += f"images:\n- name: {self.r.choice(IMAGES)}\n"
            k += self.r.choice([f"  newTag: \"{self.r.randint(1, 9)}.0\"\n", "  newName: registry.local/img\n",
                                "  digest: sha256:" + "a" * 64 + "\n"])
        if top and self.chance(0.15):
            k += f"replicas:\n- name: web\n  count: {self.r.randint(1, 6)}\n"
        if self.chance(0.1):
            k += "generatorOptions:\n  disableNameSuffixHash: true\n"
        return k

    def overlay(self, d, children, allow_patches=True):
        k = "resources:\n" + "".join(f"- {c}\n" for c in children)
        k += self.common_fields(d, top=True)
        if allow_patches and self.chance(0.4):
            k += "patches:\n"
            for _ in range(self.r.randint(1, 2)):
                if self.chance(0.6):
                    k += self.smp_patch("web", d, self.chance(0.5))
                else:
                    k += self.json_patch(d, self.chance(0.5))
        if self.chance(0.3):
            beh = self.r.choice(["merge", "replace", "merge", "create"])
            name = "cfg" if beh != "create" else f"new-{self.word()}"
            k += "configMapGenerator:\n" + self.generator("cm", name, beh, d)
        if self.chance(0.1):
            k += self.replacement()
        if self.chance(0.12):
            k += self.plugins(d)
        if d == "top/" and self.chance(0.15):
            k += "buildMetadata: [" + self.r.choice(["originAnnotations", "transformerAnnotations",
                                                      "originAnnotations, transformerAnnotations",
                                                      "managedByLabel"]) + "]\n"
        if d == "top/" and self.chance(0.1):
            k += self.r.choice(["sortOptions:\n  order: fifo\n",
                                "sortOptions:\n  order: legacy\n  legacySortOptions:\n"
                                "    orderFirst: [Service]\n    orderLast: [ConfigMap]\n"])
        self.files[f"{d}kustomization.yaml"] = k

    def component(self, d):
        k = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        if self.chance(0.5):
            k += self.common_labels()
        if self.chance(0.5):
            k += "patches:\n" + self.smp_patch("web", d, True)
        if self.chance(0.4):
            k += "configMapGenerator:\n" + self.generator("cm", "cfg", "merge", d)
        if self.chance(0.3):
            k += f"namePrefix: c{self.r.randint(0, 9)}-\n"
        if k.count("\n") == 2:
            k += self.common_annotations()
        self.files[f"{d}kustomization.yaml"] = k

    def case(self):
        nbases = self.r.choice([1, 1, 2])
        bases = []
        for i in range(nbases):
            d = f"base{i}/"
            self.base(d, i)
            bases.append(d)
        # optional middle overlays
        children = []
        for b in bases:
            if self.chance(0.4):
                mid = f"mid-{b}"
                self.overlay(mid, [f"../{b.rstrip('/')}"])
                children.append(mid.rstrip("/"))
            else:
                children.append(b.rstrip("/"))
        if nbases == 1 and self.chance(0.25):
            # siblings over the same base
            sib = "sib/"
            self.files[f"{sib}kustomization.yaml"] = f"namePrefix: sib-\nresources:\n- ../{bases[0].rstrip('/')}\n"
            children.append("sib")
        self.overlay("top/", [f"../{c}" for c in children])
        if self.chance(0.3):
            self.component("comp/")
            self.files["top/kustomization.yaml"] += "components:\n- ../comp\n"
        return self.files


def write_case(root, files):
    for path, body in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(body)


def run(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--tack", default="tack render")
    ap.add_argument("--keep", default="/tmp/kustomize-differential")
    args = ap.parse_args()
    tack = shlex.split(args.tack)
    os.makedirs(args.keep, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kdiff-")
    diffs = 0
    both_err = 0
    for i in range(args.cases):
        rnd = random.Random(args.seed * 1_000_003 + i)
        files = Gen(rnd).case()
        root = os.path.join(work, f"case-{i}")
        write_case(root, files)
        top = os.path.join(root, "top")
        kc, ko, ke = run([KUBECTL, "kustomize", top], root)
        tc, to, te = run(tack + [top], root)
        if kc != 0 and tc != 0:
            both_err += 1
        ok = (kc == 0) == (tc == 0) and (kc != 0 or ko == to)
        if not ok:
            diffs += 1
            dest = os.path.join(args.keep, f"seed{args.seed}-case{i}")
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(root, dest)
            with open(os.path.join(dest, "kubectl.out"), "wb") as f:
                f.write(ko + b"\n--- stderr\n" + ke)
            with open(os.path.join(dest, "tack.out"), "wb") as f:
                f.write(to + b"\n--- stderr\n" + te)
            print(f"DIFF case {i}: kubectl rc={kc} tack rc={tc} -> {dest}", flush=True)
        shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    print(f"seed {args.seed}: {args.cases} cases, {diffs} differences, {both_err} failed in both")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
