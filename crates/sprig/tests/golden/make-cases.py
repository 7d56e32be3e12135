"""Writes one chart folder per case of cases.py into this directory (then run regen.sh for expected.json).

    python3 crates/sprig/tests/golden/make-cases.py
"""
import os, sys, json, shutil
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))
from cases import C, DIFF
root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
os.makedirs(root, exist_ok=True)
for name, (tpl, values, shape) in C.items():
    d = os.path.join(root, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "templates"))
    open(os.path.join(d, "Chart.yaml"), "w").write("apiVersion: v2\nname: sprig-case\nversion: 0.1.0\n")
    open(os.path.join(d, "values.yaml"), "w").write((values or "{}") + "\n")
    open(os.path.join(d, "templates", "t.yaml"), "w").write(tpl)
    if name in DIFF:
        open(os.path.join(d, "difference.txt"), "w").write(DIFF[name] + "\n")
    if shape:
        open(os.path.join(d, "shape.txt"), "w").write(shape + "\n")
print(len(C), "cases")
