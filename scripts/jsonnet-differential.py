#!/usr/bin/env python3
"""Randomized differential test of `tack jsonnet` against go-jsonnet's `jsonnet` command (v0.22.0).

Generates random Jsonnet programs from a small typed grammar (numbers, strings with Unicode and escapes, arrays,
objects with hidden fields, `+:` inheritance, self/super, comprehensions, locals, functions, conditionals) over the
standard library (string, array, set, object, math and manifest functions, std.format with every conversion and
flag), evaluates each with both, and reports every program whose output or exit code differs. Programs are
evaluated in JSON and, for arrays of objects, YAML stream (-y) mode as well.

Usage:
  scripts/jsonnet-differential.py [--seed N] [--cases N] [--tack "CMD"] [--jsonnet BIN] [--keep DIR] [--errors]

  --tack     the command that evaluates code with -e (default: "tack jsonnet"); e.g.
             "$CARGO_TARGET_DIR/release/tack-jsonnet-cli" (the same code without tack's start-up).
  --jsonnet  go-jsonnet's binary (default: from testenv/oracles.sh jsonnet).
  --keep     directory where differing programs are written (default: /tmp/jsonnet-differential).
  --errors   also compare the first line of stderr when both fail (off: the wording of a few runtime errors
             differs, see crates/jsonnet/tests/golden/KNOWN_DIFFERENCES).

Formatting goes through std.format and the `%` operator alike (numbers past 2^63, non-ASCII widths, mapping keys);
numbers also come from the math functions (Go's digits) and decimals such as 0.1 turned into strings; std.parseYaml
reads YAML 1.1 scalars. Exit status 0 when every case agrees.
"""

import argparse
import os
import random
import shlex
import subprocess
import sys

TAB = "\\t"  # a Jsonnet escape: tab
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STRINGS = ["", "a", "abc", "Hello, World", "héllo", "日本語", "x y z", "tab\\there", "quote\\\"d", "line\\nbreak",
           "ümlaut", "🙂 ok", "a,b,c", "  pad  ", "CamelCase", "snake_case", "k=v", "%", "\\u00e9"]
WORDS = ["name", "app", "kind", "replicas", "port", "image", "labels", "env", "tier", "x"]


class Gen:
    def __init__(self, rnd):
        self.r = rnd
        self.depth = 0

    def q(self, *xs):
        """One of `xs` as a Jsonnet string literal."""
        return '"' + self.r.choice(xs) + '"'

    def pick(self, *xs):
        return self.r.choice(xs)

    def chance(self, p):
        return self.r.random() < p

    def deeper(self, f):
        self.depth += 1
        try:
            return f()
        finally:
            self.depth -= 1

    # ---- numbers ------------------------------------------------------------------------------------------------
    def num_lit(self):
        return self.pick(str(self.r.randint(-20, 100)), str(self.r.randint(0, 5000)), "0.5", "2.25", "-1.75",
                         "1e3", "0.125", "1024", "3")

    def num(self):
        if self.depth > 3 or self.chance(0.35):
            return self.num_lit()
        return self.deeper(lambda: self.pick(
            lambda: f"({self.num()} + {self.num()})",
            lambda: f"({self.num()} - {self.num()})",
            lambda: f"({self.num()} * {self.num_lit()})",
            lambda: f"std.floor({self.num()} / 4)",
            lambda: f"({self.r.randint(1, 1000)} % {self.r.randint(1, 17)})",
            lambda: f"std.length({self.arr()})",
            lambda: f"std.length({self.str_()})",
            lambda: f"std.abs({self.num()})",
            lambda: f"std.max({self.num()}, {self.num()})",
            lambda: f"std.min({self.num()}, {self.num()})",
            lambda: f"std.pow(2, {self.r.randint(0, 40)})",
            lambda: f"std.ceil({self.num_lit()})",
            lambda: f"std.sign({self.num()})",
            lambda: f"std.codepoint({self.char()})",
            lambda: f"std.foldl(function(a, b) a + b, std.range(0, {self.r.randint(0, 30)}), 0)",
            lambda: f"std.count({self.arr()}, {self.num_lit()})",
            lambda: f"(if {self.bool_()} then {self.num()} else {self.num()})",
            lambda: f"std.parseInt({self.q('42', '-7', '0')})",
            lambda: f"std.sum([{self.num_lit()}, {self.num_lit()}])",
            lambda: f"std.{self.pick('sin', 'cos', 'tan', 'atan', 'exp')}({self.num_lit()} / 7)",
            lambda: f"std.{self.pick('asin', 'acos')}({self.r.randint(-100, 100)} / 101)",
            lambda: f"std.{self.pick('log', 'log2', 'log10', 'sqrt')}({self.r.randint(1, 100000)} / 3)",
            lambda: f"std.pow({self.r.randint(1, 50)} / 7, {self.pick('0.5', '1.5', '-2.25', '3', '0.1')})",
            lambda: f"std.atan2({self.num_lit()}, {self.num_lit()})",
        )())

    def char(self):
        return '"' + self.pick("a", "Z", "é", "日", "0", " ", "🙂") + '"'

    # ---- strings ------------------------------------------------------------------------------------------------
    def str_lit(self):
        s = self.pick(*STRINGS)
        return self.pick(f'"{s}"', f"'{s}'") if '"' not in s and "'" not in s else f'"{s}"'

    def fmt(self):
        conv = self.pick("d", "i", "s", "x", "X", "o", "e", "E", "g", "G", "f", "c", "%")
        flags = "".join(self.r.sample(["-", "0", "+", " ", "#"], self.r.randint(0, 2)))
        width = self.pick("", "", str(self.r.randint(1, 12)))
        prec = self.pick("", "", "." + str(self.r.randint(0, 6)))
        if conv == "%":
            return '"100%%"'
        if conv == "c":
            arg = self.pick("65", '"x"', "233")
        elif conv == "s":
            arg = self.pick(self.str_(), self.num_lit(), self.arr())
        elif conv in "fFeEgG":
            arg = self.pick(self.num_lit(), "3.5", "-0.25", "123456.5", "1e10", "0")
        elif self.chance(0.2):
            arg = self.pick("1e20", "-3e19", "9007199254740993", "4294967296.5")
        else:
            arg = str(self.r.randint(-100000, 100000))
        template = f"<%{flags}{width}{prec}{conv}>"
        if conv == "s" and self.chance(0.3):
            arg = self.pick('"é"', '"日本"', '"🙂x"', "0.1", "1e-7")
        return self.pick(
            lambda: f'std.format("{template}", [{arg}])',
            lambda: f'"{template}" % [{arg}]',
            lambda: f'"{template}" % {arg}' if not arg.startswith("[") else f'"{template}" % [{arg}]',
            lambda: f'"%(k){flags}{width}{prec}{conv}|%(k)s" % {{k: {arg}}}',
        )()

    def str_(self):
        if self.depth > 3 or self.chance(0.3):
            return self.str_lit()
        return self.deeper(lambda: self.pick(
            lambda: f"({self.str_()} + {self.str_()})",
            lambda: f"({self.str_()} + {self.r.randint(-5, 500)})",
            lambda: f"std.toString({self.pick(self.num(), self.arr(), self.obj(), self.bool_())})",
            lambda: f"std.asciiUpper({self.str_()})",
            lambda: f"std.asciiLower({self.str_()})",
            lambda: f"std.substr({self.str_()}, {self.r.randint(0, 4)}, {self.r.randint(0, 6)})",
            lambda: f"std.strReplace({self.str_()}, {self.q('a', ' ', 'l')}, {self.str_lit()})",
            lambda: f"std.join({self.str_lit()}, std.map(std.toString, {self.arr()}))",
            lambda: f"std.join(',', std.split({self.str_()}, {self.q(',', ' ', 'a')}))",
            lambda: f"std.stripChars({self.str_()}, {self.q(' ', 'a', 'xyz')})",
            lambda: f"std.lstripChars({self.str_()}, \" \")",
            lambda: f"std.escapeStringJson({self.str_()})",
            lambda: f"({self.str_lit()} + {self.pick('0.1', '1/3', '1e-7', '2.5e21', '-0.3')})",
            lambda: f"std.toString([{self.pick('0.1', '1/3', '1e-7')}, {self.num()}])",
            lambda: f"std.manifestJsonMinified({self.pick('0.1', '1/3', '1e-7')})",
            lambda: f"std.manifestJson(std.parseYaml({self.yaml_text()}))",
            lambda: f"std.escapeStringBash({self.str_()})",
            lambda: f"std.escapeStringPython({self.str_()})",
            lambda: f"std.manifestJsonEx({self.value()}, {self.q('  ', '', TAB)})",
            lambda: f"std.manifestJsonMinified({self.value()})",
            lambda: f"std.manifestJson({self.value()})",
            lambda: f"std.manifestYamlDoc({self.value()})",
            lambda: f"std.manifestYamlDoc({self.value()}, indent_array_in_object={self.bool_lit()}, quote_keys={self.bool_lit()})",
            lambda: f"std.manifestYamlStream([{self.value()}, {self.value()}])",
            lambda: f"std.manifestIni({{sections: {{a: {self.flat_obj()}}}, main: {self.flat_obj()}}})",
            lambda: f"std.manifestTomlEx({self.flat_obj()}, '  ')",
            lambda: f"std.manifestPython({self.value()})",
            lambda: f"std.manifestXmlJsonml(['a', {{x: '1'}}, {self.str_lit()}])",
            lambda: self.fmt(),
            lambda: f"({self.str_lit()} % [])" if False else f"(\"%s-%d\" % [{self.str_()}, {self.r.randint(0, 99)}])",
            lambda: f"std.char({self.r.choice([65, 97, 233, 26085, 128578])})",
            lambda: f"std.md5({self.str_()})",
            lambda: f"std.base64({self.q('hello', '', 'a', 'abcd')})",
            lambda: f"std.mod({self.str_lit()}, [])" if False else f"std.repeat({self.str_lit()}, {self.r.randint(0, 3)})",
            lambda: f"(if {self.bool_()} then {self.str_()} else {self.str_()})",
            lambda: f"std.stringChars({self.str_()})[0:1] + []" if False else f"std.join('|', std.stringChars({self.str_lit()}))",
            lambda: f"std.trim({self.str_()})",
            lambda: f"std.ascii_upper({self.str_()})" if False else f"std.asciiUpper(std.toString({self.num()}))",
        )())

    # ---- booleans -----------------------------------------------------------------------------------------------
    def bool_lit(self):
        return self.pick("true", "false")

    def bool_(self):
        if self.depth > 3 or self.chance(0.3):
            return self.bool_lit()
        return self.deeper(lambda: self.pick(
            lambda: f"({self.num()} < {self.num()})",
            lambda: f"({self.str_()} == {self.str_()})",
            lambda: f"({self.value()} == {self.value()})",
            lambda: f"({self.str_()} < {self.str_()})",
            lambda: f"std.member({self.arr()}, {self.num_lit()})",
            lambda: f"std.startsWith({self.str_()}, {self.str_lit()})",
            lambda: f"std.endsWith({self.str_()}, {self.str_lit()})",
            lambda: f"std.objectHas({self.obj()}, {self.pick(*[repr(w) for w in WORDS])})",
            lambda: f"std.isString({self.value()})",
            lambda: f"!{self.bool_()}",
            lambda: f"({self.bool_()} && {self.bool_()})",
            lambda: f"std.all([{self.bool_()}, {self.bool_()}])",
            lambda: f"std.any([])",
        )())

    # ---- arrays -------------------------------------------------------------------------------------------------
    def arr(self):
        if self.depth > 3 or self.chance(0.25):
            n = self.r.randint(0, 4)
            return "[" + ", ".join(self.pick(self.num_lit, self.str_lit, self.bool_lit)() for _ in range(n)) + "]"
        return self.deeper(lambda: self.pick(
            lambda: f"std.range({self.r.randint(-3, 3)}, {self.r.randint(0, 8)})",
            lambda: f"std.map(function(x) x * 2, std.range(0, {self.r.randint(0, 6)}))",
            lambda: f"std.filter(function(x) x % 2 == 0, std.range(0, {self.r.randint(0, 9)}))",
            lambda: f"std.sort({self.num_arr()})",
            lambda: f"std.sort({self.str_arr()})",
            lambda: f"std.uniq(std.sort({self.num_arr()}))",
            lambda: f"std.set({self.str_arr()})",
            lambda: f"std.setUnion(std.set({self.num_arr()}), std.set({self.num_arr()}))",
            lambda: f"std.setInter(std.set({self.num_arr()}), std.set({self.num_arr()}))",
            lambda: f"std.setDiff(std.set({self.num_arr()}), std.set({self.num_arr()}))",
            lambda: f"std.reverse({self.arr()})",
            lambda: f"[x + 1 for x in {self.num_arr()} if x > 0]",
            lambda: f"[[x, y] for x in [1, 2] for y in {self.str_arr()}]",
            lambda: f"({self.arr()} + {self.arr()})",
            lambda: f"{self.num_arr()}[{self.r.randint(0, 2)}:{self.r.randint(2, 6)}]",
            lambda: f"{self.str_arr()}[::{self.r.randint(1, 3)}]",
            lambda: f"std.flattenArrays([{self.arr()}, {self.arr()}])",
            lambda: f"std.makeArray({self.r.randint(0, 5)}, function(i) i * i)",
            lambda: f"std.objectFields({self.obj()})",
            lambda: f"std.objectValues({self.obj()})",
            lambda: f"std.split({self.str_()}, ',')",
            lambda: f"std.stringChars({self.str_lit()})",
            lambda: f"std.sort({self.obj_arr()}, keyF=function(o) o.k)",
            lambda: f"std.splitLimit('a,b,c,d', ',', {self.r.randint(-1, 3)})",
            lambda: f"std.find({self.num_lit()}, {self.num_arr()})",
            lambda: f"std.mapWithIndex(function(i, x) [i, x], {self.arr()})",
            lambda: f"std.objectKeysValues({self.flat_obj()})",
            lambda: f"std.removeAt({self.num_arr()}, 0)" if False else f"std.remove({self.num_arr()}, 1)",
            lambda: f"std.minArray({self.num_arr()} + [0])" if False else f"[std.minArray({self.num_arr()} + [0])]",
        )())

    def num_arr(self):
        return "[" + ", ".join(str(self.r.randint(-5, 9)) for _ in range(self.r.randint(0, 6))) + "]"

    def str_arr(self):
        return "[" + ", ".join(self.str_lit() for _ in range(self.r.randint(0, 5))) + "]"

    def obj_arr(self):
        return "[" + ", ".join(f"{{k: {self.r.randint(0, 9)}, v: {self.str_lit()}}}" for _ in range(self.r.randint(0, 4))) + "]"

    # ---- objects ------------------------------------------------------------------------------------------------
    def key(self):
        return self.pick(*WORDS, '"with space"', '"ümlaut"', '"a.b"', '"1x"', '"-"', '"true"')

    def flat_obj(self):
        n = self.r.randint(0, 4)
        fields = {}
        for _ in range(n):
            fields[self.pick(*WORDS)] = self.pick(self.num_lit, self.str_lit, self.bool_lit)()
        return "{" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}"

    def obj(self):
        if self.depth > 3 or self.chance(0.25):
            return self.flat_obj()
        return self.deeper(lambda: self.pick(
            self.obj_literal,
            lambda: f"({self.obj()} + {self.obj()})",
            lambda: f"({{a: {{x: 1, y: 2}}, h:: 'hidden'}} + {{a+: {{y: 3, z: self.x}}, s: super.h}})",
            lambda: f"{{local o = self, b: {self.num()}, c: o.b + 1}}",
            lambda: f"std.mergePatch({self.obj()}, {self.obj()})",
            lambda: f"std.prune({{a: null, b: [], c: {{}}, d: {self.value()}}})",
            lambda: f"{{[k]: std.length(k) for k in {self.str_arr()}}}",
            lambda: f"std.objectRemoveKey({self.obj()}, 'x')",
            lambda: f"std.mapWithKey(function(k, v) k, {self.flat_obj()})",
            lambda: f"std.parseJson({self.json_text()})",
            lambda: f"{{a: 1}} {{b: super.a + 1, assert self.b > 0 : 'b positive'}}",
            lambda: f"(if {self.bool_()} then {self.obj()} else {{}})",
            lambda: f"std.get({{a: {self.flat_obj()}}}, {self.q('a', 'b')}, {{}})",
        )())

    def obj_literal(self):
        n = self.r.randint(0, 4)
        used = set()
        parts = []
        for _ in range(n):
            k = self.key()
            if k in used:
                continue
            used.add(k)
            sep = self.pick(":", ":", "::", ":::")
            parts.append(f"{k}{sep} {self.value()}")
        if self.chance(0.3):
            parts.insert(0, f"local l = {self.num_lit()}")
        return "{" + ", ".join(parts) + "}"

    def yaml_text(self):
        scalars = ["yes", "No", "on", "OFF", "y", "n", "~", "null", "0777", "0o17", "0x1F", "1_000", "190:20:30",
                   "2001-12-14", "1e3", ".5", "+12", "-0", '"quoted"', "true", "True", "plain text", "1.5"]
        doc = "\\n".join(f"k{i}: {self.pick(*scalars)}" for i in range(self.r.randint(1, 4)))
        return "'" + self.pick(doc, "--- " + self.pick(*scalars) + "\\n--- " + self.pick(*scalars), "- " + self.pick(*scalars)) + "'"

    def json_text(self):
        return self.pick("'{\"a\": [1, 2.5, \"x\"], \"b\": null}'", "'[]'", "'{\"é\": true}'", "'  {\"n\": -0.5}  '")

    # ---- any value ----------------------------------------------------------------------------------------------
    def value(self):
        return self.pick(self.num, self.str_, self.bool_, self.arr, self.obj, lambda: "null")()

    def program(self):
        fields = [f"f{i}: {self.pick(self.num, self.str_, self.str_, self.fmt, self.bool_, self.arr, self.obj)()}"
                  for i in range(self.r.randint(3, 8))]
        top = self.pick(lambda: "{" + ", ".join(fields) + "}", lambda: "[" + ", ".join(
            f"{{kind: 'K', i: {i}, v: {self.value()}}}" for i in range(self.r.randint(1, 4))) + "]", self.value)()
        if self.chance(0.3):
            top = f"local f(x, y=2) = x + y; local s = {self.str_lit()}; {{r: f({self.num()}), s: s, v: {top}}}"
        return top


def run(cmd, code, extra):
    p = subprocess.run(cmd + extra + ["-e", code], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace").split("\n", 1)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--tack", default="tack jsonnet")
    ap.add_argument("--jsonnet")
    ap.add_argument("--keep", default="/tmp/jsonnet-differential")
    ap.add_argument("--errors", action="store_true")
    args = ap.parse_args()
    jsonnet = args.jsonnet
    if not jsonnet:
        out = subprocess.run([os.path.join(ROOT, "testenv/oracles.sh"), "jsonnet"], capture_output=True, text=True,
                             check=True).stdout
        jsonnet = [line.split("=", 1)[1] for line in out.splitlines() if line.startswith("jsonnet=")][0]
    tack = shlex.split(args.tack)
    rnd = random.Random(args.seed)
    os.makedirs(args.keep, exist_ok=True)
    differ = both_failed = runs = 0
    for i in range(args.cases):
        code = Gen(rnd).program()
        for extra in ([], ["-y"]) if code.startswith("[") else ([],):
            runs += 1
            g = run([jsonnet], code, extra)
            t = run(tack, code, extra)
            if g[0] != 0 and t[0] != 0:
                both_failed += 1
                if not args.errors or g[2] == t[2]:
                    continue
            elif g == t or (g[0] == 0 and g[:2] == t[:2]):
                continue
            differ += 1
            path = os.path.join(args.keep, f"case-{args.seed}-{i}.jsonnet")
            with open(path, "w") as f:
                f.write(code + "\n")
            print(f"DIFFERENT {path} {' '.join(extra)}")
            print(f"  go-jsonnet: exit {g[0]} {g[1][:300]!r} {g[2][:200]}")
            print(f"  tack:       exit {t[0]} {t[1][:300]!r} {t[2][:200]}")
    print(f"seed {args.seed}: {args.cases} programs, {runs} runs, {both_failed} failed in both, {differ} different")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
