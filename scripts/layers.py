#!/usr/bin/env python3
"""Layers that go one way: every `crate::` edge between top-level modules must run down.

For each crate in ORDERS this lists the edges between its top-level modules (`foo.rs` and
`foo/` are the module `foo`; `lib.rs` is the crate root `lib`, `main.rs` the binary `main`),
read from the source text:
  - `use` trees: `use crate::{a::x, b::{y, z}}`, `use super::..`, `pub(crate) use ..`, and in
    the crate root and the binary, paths that start at a top-level module or the library's name;
  - paths in code: `crate::a::f()`, `$crate::a::T` (in macros), `super::super::a::T`;
  - comments, strings and character literals are blanked first; inline `mod x { .. }` blocks
    count for `super::`.
A path that ends at an item of the crate root (`crate::run`) is an edge to `lib`.

Each crate's order is written below, bottom first (and drawn in docs/ARCHITECTURE.md). An edge
A -> B is allowed only when B sits below A; an edge that runs back up (or sideways to a module
of the same rank: the order is total) fails, naming file:line and the edge. A module missing
from the order fails too, so a new module gets placed on purpose.

Usage:
  scripts/layers.py              check the workspace (exit 1 on a back edge)
  scripts/layers.py --edges      also print every edge with its first file:line
  scripts/layers.py --self-test  check a temporary tree with a deliberate back edge
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

# Bottom first. An edge may only go from a module to one listed before it.
ORDERS: dict[str, list[str]] = {
    "mock-server": [
        "delay",  # the /json delay distribution, swappable at run time
        "requests",  # the request journal
        "limits",  # the store's caps, the serving layer's limits, their defaults
        "password",  # salted password hashes (the store keeps them, auth checks them)
        "store",  # users, cities, caps, counters; a fault's mark is an opaque Tag
        "error",  # ApiError, mapping the store's errors to statuses
        "auth",  # JWT keys, the AuthUser extractor over the AuthState trait
        "metrics",  # requests per route and status, route templates, gauges
        "faults",  # the catalogue over the store and auth
        "extract",  # extractors that reject with ApiError
        "config",  # CLI, TOML, validated Config (parses fault specs with the catalogue)
        "state",  # AppState built from Config, and its FromRef sub-states
        "openapi",  # the base document (title, tags, security schemes)
        "routes",  # handlers over sub-states, the route table, the document
        "app",  # the composition root: router, tracking layer, fault layer
        "serve",  # accept loop and connections, serving the app
        "lib",  # the crate root: modules and re-exports, run, bind
        "testing",  # in-process server for other crates' tests, over the root's API
        "main",  # the binary
    ],
    "loadgen": [
        "client",  # one keep-alive HTTP/1.1 connection per user
        "checks",  # outcomes and the checks that produce them
        "stats",  # sharded recording, histograms, intervals
        "api",  # the API description: requests built, answers parsed into views
        "selfcheck",  # scheduler lag and CPU of the generator
        "scenario",  # the Scenario trait, sessions, json/cities/file scenarios, findings
        "summary",  # a plain summary of a run: Run, figures, setting (what report and thresholds read)
        "thresholds",  # CI gates judging a run's figures
        "report",  # the report (JSON contract) and its renderers, merge, compare
        "cli",  # clap types only
        "plan",  # the validated plan, parsed from the cli into its own types
        "runner",  # users, models, timer, signals, collector, the live view (runner::live)
        "exit",  # the exit code of a finished run
        "output",  # where a finished report goes: files and the summary
        "preflight",  # connect and one probe before the load
        "offline",  # merge and compare: reports in, reports out, no runner
        "repro",  # repro and replay
        "describe",  # describe: an OpenAPI document to a description file (inference in api::openapi)
        "lib",  # the crate root: run, main_with
        "main",  # the binary
    ],
}

CRATES = {name: Path(name) / "src" for name in ORDERS}
LIB_NAMES = {"mock-server": "mock_server", "loadgen": "loadgen"}

# Back edges still to remove (each one must still exist: the list only shrinks). Reported, not
# failed. Format: (crate, from, to). What each needs:
KNOWN: set[tuple[str, str, str]] = set()


def blank(text: str) -> str:
    """The text with comments, strings and char literals replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)

    def keep_lines(s: str) -> str:
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(keep_lines(text[i:j]))
            i = j
        elif (m := re.compile(r'b?r(#*)"').match(text, i)) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            end = '"' + m.group(1)
            j = text.find(end, m.end())
            j = n if j < 0 else j + len(end)
            out.append(keep_lines(text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(keep_lines(text[i : j + 1]))
            i = j + 1
        elif c == "'":
            # a char literal ('a', '\n', '\u{1F600}') or a lifetime ('a): blank only the former
            m = re.compile(r"'(\\(u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'").match(text, i)
            if m:
                out.append(" " * (m.end() - i))
                i = m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


TOKEN = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*|::|[{}();,*]|\S")


def tokens(text: str):
    """(token, line) pairs of blanked source."""
    line = 1
    pos = 0
    for m in TOKEN.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        yield m.group(0), line


def use_paths(toks, i):
    """Parses the use tree starting at toks[i]; returns (list of segment lists, index after ';')."""
    paths = []

    def tree(i, prefix):
        segs = list(prefix)
        while i < len(toks):
            t = toks[i][0]
            if t == "{":
                i += 1
                while i < len(toks) and toks[i][0] != "}":
                    i = tree(i, segs)
                    if i < len(toks) and toks[i][0] == ",":
                        i += 1
                return i + 1
            if t == "*":
                paths.append(segs + ["*"])
                return i + 1
            if t == "::":
                i += 1
                continue
            if re.fullmatch(r"\$?[A-Za-z_]\w*", t) and t != "as":
                segs.append(t)
                i += 1
                if i < len(toks) and toks[i][0] == "as":
                    i += 2
                if i < len(toks) and toks[i][0] == "::":
                    continue
                paths.append(segs)
                return i
            return i
        return i

    i = tree(i, [])
    while i < len(toks) and toks[i][0] != ";":
        i += 1
    return paths, i + 1


def resolve(segs, module, tops, root_names):
    """The top-level module a path reaches, `lib` for an item of the root, None if external."""
    if not segs:
        return None
    first = segs[0]
    if first in ("crate", "$crate") or first in root_names:
        rest = segs[1:]
    elif first == "super":
        up = 0
        while up < len(segs) and segs[up] == "super":
            up += 1
        if up > len(module):
            return None
        rest = module[: len(module) - up] + segs[up:]
    elif first == "self":
        rest = module + segs[1:]
    elif not module and first in tops:
        rest = segs  # a bare path in the crate root names a top-level module
    else:
        return None
    if not rest or rest[0] == "*":
        return "lib"
    if rest[0] in tops:
        return rest[0]
    return "lib"


def module_of(src: Path, file: Path) -> tuple[str, list[str]]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts == ["lib"]:
        return "lib", []
    if parts == ["main"]:
        return "main", []
    if parts[0] == "bin":
        return "main", []
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts[0], parts


def edges_of(crate: str, src: Path):
    """Yields (from, to, file, line) for every edge between top-level modules."""
    files = sorted(src.rglob("*.rs"))
    tops = {module_of(src, f)[0] for f in files} - {"lib", "main"}
    for file in files:
        top, module = module_of(src, file)
        root_names = {LIB_NAMES.get(crate, "")} if top == "main" else set()
        toks = list(tokens(blank(file.read_text(encoding="utf-8"))))
        stack = []  # (module path, brace depth where its block opened)
        depth = 0
        i = 0
        while i < len(toks):
            t, line = toks[i]
            current = stack[-1][0] if stack else module
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
                if stack and stack[-1][1] == depth:
                    stack.pop()
            elif (
                t == "mod"
                and i + 2 < len(toks)
                and toks[i + 2][0] == "{"
                and re.fullmatch(r"[A-Za-z_]\w*", toks[i + 1][0])
            ):
                stack.append((current + [toks[i + 1][0]], depth))
                depth += 1
                i += 3
                continue
            elif t == "use" and (i == 0 or toks[i - 1][0] != "::"):
                paths, j = use_paths(toks, i + 1)
                names = root_names | ({"crate", "$crate", "super", "self"})
                for segs in paths:
                    if segs and (segs[0] in names or (not current and segs[0] in tops)):
                        to = resolve(segs, current, tops, root_names)
                        if to and to != top:
                            yield top, to, file, line
                i = j
                continue
            elif t in ({"crate", "$crate", "super"} | root_names) and (
                i + 1 < len(toks) and toks[i + 1][0] == "::"
            ) and (i == 0 or toks[i - 1][0] != "::"):
                segs = [t]
                j = i + 1
                while j + 1 < len(toks) and toks[j][0] == "::" and re.fullmatch(
                    r"\$?[A-Za-z_]\w*", toks[j + 1][0]
                ):
                    segs.append(toks[j + 1][0])
                    j += 2
                to = resolve(segs, current, tops, root_names)
                if to and to != top:
                    yield top, to, file, line
                i = j
                continue
            i += 1


def check(root: Path, orders, known, show_edges=False, out=sys.stdout) -> int:
    failures = 0
    seen_known = set()
    for crate, order in orders.items():
        src = root / crate / "src"
        if not src.is_dir():
            print(f"{crate}: no {src}", file=out)
            failures += 1
            continue
        rank = {m: r for r, m in enumerate(order)}
        first = {}
        for a, b, file, line in edges_of(crate, src):
            first.setdefault((a, b), f"{file.relative_to(root)}:{line}")
            for m in (a, b):
                if m not in rank:
                    rank[m] = None
        missing = sorted(m for m, r in rank.items() if r is None)
        files = {module_of(src, f)[0] for f in src.rglob("*.rs")}
        missing = sorted(set(missing) | {m for m in files if m not in rank})
        for m in missing:
            print(f"{crate}: module `{m}` is not in the order in scripts/layers.py", file=out)
            failures += 1
        if missing:
            continue
        if show_edges:
            print(f"{crate} (bottom first): {' -> '.join(order)}", file=out)
            for (a, b), where in sorted(first.items(), key=lambda e: (-rank[e[0][0]], rank[e[0][1]])):
                print(f"  {a} -> {b}  ({where})", file=out)
        reported = set()
        for a, b, file, line in edges_of(crate, src):
            if rank[b] < rank[a]:
                continue
            where = f"{file.relative_to(root)}:{line}"
            if (where, a, b) in reported:
                continue
            reported.add((where, a, b))
            if (crate, a, b) in known:
                if (crate, a, b) not in seen_known:
                    print(f"{where}: known back edge {a} -> {b} ({crate}), to remove", file=out)
                seen_known.add((crate, a, b))
                continue
            print(f"{where}: back edge {a} -> {b}: `{b}` sits above `{a}` in {crate}'s order", file=out)
            failures += 1
    for crate, a, b in sorted(known - seen_known):
        if crate in orders:
            print(f"{crate}: known back edge {a} -> {b} is gone: remove it from KNOWN", file=out)
            failures += 1
    return failures


def self_test() -> int:
    """A tree that follows its order passes; the same tree with one back edge fails on it."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "demo" / "src"
        (src / "low").mkdir(parents=True)
        files = {
            "lib.rs": "pub mod low;\npub mod high;\nuse high::run;\npub fn root() {}\n",
            "low.rs": "//! uses crate::high only in a comment\npub mod inner;\npub struct Tag;\n"
            'const S: &str = "crate::high::x";\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n',
            "low/inner.rs": "use super::Tag;\npub fn f(_: Tag) {}\n",
            "high.rs": "use crate::{\n    low::{inner::f, Tag},\n};\npub fn run() { f(Tag); }\n",
        }
        for name, text in files.items():
            (src / name).write_text(text)
        orders = {"demo": ["low", "high", "lib"]}
        clean = check(root, orders, set(), out=open(os.devnull, "w"))
        if clean:
            print("self-test: a tree that follows its order failed the check")
            return 1
        cases = [
            ("low/inner.rs", "pub fn g() { crate::high::run(); }\n", "low/inner.rs:3: back edge low -> high"),
            ("low.rs", "use crate::{\n    high::run,\n};\n", "low.rs:9: back edge low -> high"),
            ("low.rs", "mod m {\n    use super::super::high::run;\n}\n", "low.rs:10: back edge low -> high"),
            ("low.rs", "pub fn k() { crate::root(); }\n", "low.rs:9: back edge low -> lib"),
        ]
        for name, extra, expected in cases:
            path = src / name
            before = path.read_text()
            path.write_text(before + extra)
            with tempfile.TemporaryFile("w+") as out:
                failed = check(root, orders, set(), out=out)
                out.seek(0)
                report = out.read()
            path.write_text(before)
            if not failed or expected not in report:
                print(f"self-test: a back edge in {name} was not reported as `{expected}`:\n{report}")
                return 1
        with tempfile.TemporaryFile("w+") as out:
            stale = check(root, orders, {("demo", "low", "high")}, out=out)
        if not stale:
            print("self-test: a KNOWN back edge that is gone did not fail")
            return 1
    print("layers self-test: ok (a clean tree passes; 4 deliberate back edges fail)")
    return 0


def main(argv) -> int:
    if "--self-test" in argv:
        return self_test()
    root = Path(__file__).resolve().parent.parent
    failures = check(root, ORDERS, KNOWN, show_edges="--edges" in argv)
    if failures:
        print(f"layers: {failures} back edge(s) or unplaced module(s); see docs/ARCHITECTURE.md")
        return 1
    known = f"; {len(KNOWN)} known back edge(s) still to remove" if KNOWN else ""
    print("layers: every other edge runs down (" + ", ".join(ORDERS) + ")" + known)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
