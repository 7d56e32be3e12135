#!/usr/bin/env python3
"""The dashboard in a real browser: time to the first useful paint of the application list at N applications,
and of the page of one application with M objects.

N GitOpsConfigs (default 5 000, over 10 namespaces, suspended: no controller acts on them) and one more, `big`,
whose status lists M objects (default 2 000; written directly, as a controller would), on the cluster of
$KUBECONFIG (e.g. `tack dev up`). Then `tack dashboard --read-only` on a free port and headless Chromium through
chromedriver (Debian's chromium and chromium-driver, installed by scripts/setup.sh). Each run is a full page load
from about:blank; the time is the page's own User Timing mark `tack:drawn` (set on the frame after the page's
content is drawn), counted from the start of the navigation. Prints the best and the median of R runs.

    KUBECONFIG=... TACK_BIN=target/release/tack scripts/bench-dashboard.py [N] [M] [R]

The namespaces bench-ui-0..9 are deleted at the end.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
M = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 7
TACK = os.environ.get("TACK_BIN", os.path.join(ROOT, "target/release/tack"))
NAMESPACES = [f"bench-ui-{i}" for i in range(10)]


def kubectl(*args, stdin=None):
    return subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True, check=True).stdout


def http(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_applications(tmp):
    kubectl("apply", "--server-side", "-f", "-", stdin=subprocess.run(
        [TACK, "install", "--print"], capture_output=True, text=True, check=True).stdout)
    for ns in NAMESPACES:
        kubectl("create", "namespace", ns)
    for i, ns in enumerate(NAMESPACES):
        items = [{
            "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
            "metadata": {"name": f"app-{k:05d}", "namespace": ns, "labels": {"team": f"t{k % 7}"}},
            "spec": {"source": {"repoURL": "https://git.example.invalid/mono.git", "path": f"apps/app-{k:05d}"},
                     "destination": {"namespace": ns}, "suspend": True},
        } for k in range(i, N, 10)]
        path = os.path.join(tmp, f"apps-{i}.json")
        with open(path, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
        kubectl("apply", "--server-side", "-f", path)
    big = {
        "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
        "metadata": {"name": "big", "namespace": NAMESPACES[0]},
        "spec": {"source": {"repoURL": "https://git.example.invalid/big.git", "path": "big"},
                 "destination": {"namespace": NAMESPACES[0]}, "suspend": True},
    }
    kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(big))
    kinds = [("", "v1", "ConfigMap"), ("", "v1", "Service"), ("apps", "v1", "Deployment"), ("", "v1", "Secret")]
    resources = []
    for k in range(M):
        group, version, kind = kinds[k % len(kinds)]
        resources.append({"group": group, "version": version, "kind": kind, "namespace": NAMESPACES[0],
                          "name": f"object-{k:05d}", "status": "Synced" if k % 50 else "OutOfSync",
                          "health": {"status": "Healthy" if k % 97 else "Progressing"}})
    status = {"status": {"sync": {"status": "OutOfSync", "revision": "0" * 40}, "health": {"status": "Progressing"},
                         "resources": resources}}
    path = os.path.join(tmp, "status.json")
    with open(path, "w") as f:
        json.dump(status, f)
    kubectl("patch", "-n", NAMESPACES[0], "gitopsconfig", "big", "--subresource=status", "--type=merge",
            "--patch-file", path)


def drawn(session, url):
    """Loads `url` fully from about:blank; the page's `tack:drawn` mark, in ms from the navigation's start."""
    http("POST", f"{session}/url", {"url": "about:blank"})
    http("POST", f"{session}/url", {"url": url})
    script = ("const done = arguments[arguments.length - 1];"
              "const look = () => { const m = performance.getEntriesByName('tack:drawn');"
              " if (m.length) done(m[0].startTime); else setTimeout(look, 20); }; look();")
    return http("POST", f"{session}/execute/async", {"script": script, "args": []})["value"]


def main():
    tmp = tempfile.mkdtemp()
    dashboard = driver = None
    try:
        create_applications(tmp)
        out = open(os.path.join(tmp, "dashboard.out"), "w+")
        dashboard = subprocess.Popen([TACK, "dashboard", "--port", "0", "--read-only"], stdout=out,
                                     stderr=subprocess.DEVNULL)
        base = None
        for _ in range(200):
            out.seek(0)
            words = [w for w in out.read().split() if w.startswith("http://")]
            if words:
                base = words[0].rstrip("/")
                break
            time.sleep(0.1)
        if not base:
            sys.exit("tack dashboard printed no address")
        for _ in range(1200):
            try:
                if http("GET", f"{base}/api/v1/applications?limit=1")["total"] >= N + 1:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        port = free_port()
        driver = subprocess.Popen(["chromedriver", f"--port={port}", "--allowed-ips=127.0.0.1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                http("GET", f"http://127.0.0.1:{port}/status")
                break
            except OSError:
                time.sleep(0.1)
        binary = next(p for p in ["/usr/bin/chromium", "/usr/lib/chromium/chromium"] if os.path.exists(p))
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": binary, "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                       "--disable-dev-shm-usage", "--window-size=1280,900"]}}}}
        session = f"http://127.0.0.1:{port}/session/" + http("POST", f"http://127.0.0.1:{port}/session", caps)["value"]["sessionId"]
        http("POST", f"{session}/timeouts", {"script": 120000, "pageLoad": 120000})
        pages = [(f"application list ({N + 1} applications, 200 rows drawn)", f"{base}/"),
                 (f"one application with {M} objects", f"{base}/#/app/{NAMESPACES[0]}/big")]
        for what, url in pages:
            times = [drawn(session, url) for _ in range(RUNS)]
            print(f"{what}: best {min(times):.0f} ms, median {statistics.median(times):.0f} ms over {RUNS} loads")
        http("DELETE", session)
    finally:
        for p in (driver, dashboard):
            if p:
                p.kill()
        for ns in NAMESPACES:
            subprocess.run(["kubectl", "delete", "namespace", ns, "--wait=false"], capture_output=True)


if __name__ == "__main__":
    main()
