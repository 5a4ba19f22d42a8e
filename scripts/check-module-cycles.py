#!/usr/bin/env python3
"""No two modules of a crate import each other, directly or round a longer circle.

A module here is a crate's top-level module (`src/foo.rs` or `src/foo/`); `crate::foo::...`,
`super::foo` from a top-level file, and `use crate::{foo, ...}` count as imports. A circle
means neither module can be read, tested or moved without the other; the fix is a third module
both use. Prints each circle found and exits 1."""
import os
import re
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
os.chdir(root)
crates = sorted({p.split("/src/")[0] for p in subprocess.check_output(["git", "ls-files", "*/src/*.rs"], text=True).split()})


def top_module(crate, path):
    rel = path[len(crate) + len("/src/"):]
    first = rel.split("/")[0]
    return first[:-3] if first.endswith(".rs") else first


def imports(text, modules):
    found = set()
    for m in re.finditer(r"crate::(\w+)", text):
        found.add(m.group(1))
    for m in re.finditer(r"crate::\{([^}]*)\}", text):
        found.update(w.split("::")[0].strip() for w in m.group(1).split(","))
    return {f for f in found if f in modules}


failed = False
for crate in crates:
    files = [p for p in subprocess.check_output(["git", "ls-files", f"{crate}/src/*.rs"], text=True).split()]
    roots = {"lib", "main"}
    modules = {top_module(crate, p) for p in files} - roots
    edges = {m: set() for m in modules}
    for p in files:
        m = top_module(crate, p)
        if m in roots:
            continue
        text = open(p, encoding="utf-8").read()
        # super:: from a top-level file names a sibling top-level module.
        if p.count("/") == crate.count("/") + 2 or p.endswith("/mod.rs") and p.count("/") == crate.count("/") + 3:
            for s in re.finditer(r"super::(\w+)", text):
                if s.group(1) in modules:
                    edges[m].add(s.group(1))
        edges[m] |= imports(text, modules)
    for m in edges:
        edges[m].discard(m)
    # Tarjan's strongly connected components: each component of more than one module is a circle.
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    for comp in comps:
        failed = True
        detail = "; ".join(f"{a} -> {', '.join(sorted(edges[a] & set(comp)))}" for a in comp)
        print(f"check-module-cycles: {crate}: modules import each other: {detail}", file=sys.stderr)
if not failed:
    print(f"check-module-cycles: no circle among the top-level modules of {len(crates)} crates")
sys.exit(1 if failed else 0)
