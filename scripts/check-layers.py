#!/usr/bin/env python3
"""Keeps the floors of src/ honest (ARCHITECTURE.md, "Floors").

Fails when
  - an #include runs from a lower floor to a higher one,
  - json-c is included under src/core or src/lib,
  - .c files call each other in a loop (a cycle in the graph "file A calls a
    function file B defines", read from the object files with nm).
Prints one summary line: "layers: N passed, N failed".
Usage: scripts/check-layers.py [BUILD_DIR]   (objects from `make`, default build)
"""
import os
import re
import subprocess
import sys

FLOORS = {
    "lib": 0,
    "core": 1,
    "arch/x86": 2,
    "mem": 3, "config": 3, "devices": 3, "acpi": 3, "virtio": 3, "api": 3,
    "board": 4,
    "main.c": 5,
}
NO_JSON = ("core", "lib", "arch/x86")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]', re.M)

root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
build = sys.argv[1] if len(sys.argv) > 1 else "build"
os.chdir(root)


def module(path):
    """src/arch/x86/boot.c -> arch/x86; src/main.c -> main.c; None outside src."""
    rel = os.path.relpath(path, "src")
    if rel.startswith(".."):
        return None
    parts = rel.split(os.sep)
    if len(parts) == 1:
        return parts[0]
    if parts[0] == "arch":
        return "/".join(parts[:2])
    return parts[0]


failures = []
checks = 0
sources = []
for d, _, files in os.walk("src"):
    for f in sorted(files):
        if f.endswith((".c", ".h")):
            sources.append(os.path.join(d, f))
sources.sort()

for path in sources:
    mod = module(path)
    if mod not in FLOORS:
        failures.append(f"{path}: module {mod} has no floor in scripts/check-layers.py")
        continue
    text = open(path, encoding="utf-8").read()
    for kind, inc in INCLUDE.findall(text):
        checks += 1
        if kind == "<":
            if inc.startswith("json-c/") and mod in NO_JSON:
                failures.append(f"{path}: includes <{inc}>: no json-c under src/{mod}")
            continue
        target = module(os.path.join("src", inc))
        if target not in FLOORS:
            failures.append(f"{path}: includes \"{inc}\", which is in no floor")
        elif FLOORS[target] > FLOORS[mod]:
            failures.append(f"{path}: includes \"{inc}\": floor {mod} ({FLOORS[mod]}) "
                            f"may not include {target} ({FLOORS[target]})")

# Call graph between .c files, from their objects.
defs, uses = {}, {}
objs = [os.path.join(build, p[:-2] + ".o") for p in sources if p.endswith(".c")]
missing = [o for o in objs if not os.path.exists(o)]
if missing:
    failures.append(f"{missing[0]}: missing (build first: make)")
else:
    out = subprocess.run(["nm", "-A", "--defined-only", "-g"] + objs, capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        obj, _, rest = line.partition(":")
        fields = rest.split()
        if len(fields) == 3 and fields[1] in "TDBR":
            defs[fields[2]] = obj
    out = subprocess.run(["nm", "-A", "-u"] + objs, capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        obj, _, rest = line.partition(":")
        sym = rest.split()[-1]
        if sym in defs and defs[sym] != obj:
            uses.setdefault(obj, set()).add(defs[sym])
    # Tarjan's strongly connected components: any with two files or more is a loop.
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(uses.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    sys.setrecursionlimit(10000)
    for o in objs:
        checks += 1
        if o not in index:
            visit(o)
    for comp in sccs:
        if len(comp) > 1:
            names = sorted(os.path.relpath(c, build)[:-2] + ".c" for c in comp)
            failures.append("call loop between " + ", ".join(names))

for f in failures:
    print("layers: FAIL " + f)
print(f"layers: {checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
