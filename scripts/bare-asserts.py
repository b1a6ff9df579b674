#!/usr/bin/env python3
"""Lists assertions that carry no message (issue 11: every assertion names its reason).

Counts `assert!`, `assert_eq!`, `assert_ne!`, their `debug_` and proptest `prop_` forms, by
their top-level arguments (strings, chars, comments and nested brackets skipped): `assert!` needs
two, `assert_eq!`/`assert_ne!` three. Exits 1 when any assertion has no message.

    python3 scripts/bare-asserts.py [-v] $(git ls-files '*.rs')
"""
import collections
import pathlib
import re
import sys

PAT = re.compile(r"\b((?:debug_|prop_)?assert(?:_eq|_ne)?)!\s*([(\[{])")


def word_char(c):
    return c.isalnum() or c == "_"


def raw_prefix_starts(src, j):
    """The `r` at `j` opens a raw string: `r"`, `r#"`, or the same after a `b` or `c` prefix."""
    before = src[j - 1]
    if not word_char(before):
        return True
    return before in "bc" and not word_char(src[j - 2])


def arguments(src, i):
    """Top-level arguments of the macro call whose opening bracket is at `i`."""
    depth, cur, out, j = 0, [], [], i
    while j < len(src):
        c = src[j]
        if c == '"':
            k = j + 1
            while src[k] != '"':
                k += 2 if src[k] == "\\" else 1
            cur.append(src[j : k + 1])
            j = k + 1
            continue
        if c == "r" and src[j + 1 : j + 2] in ('"', "#") and raw_prefix_starts(src, j):
            m = re.match(r'r(#*)"', src[j:])
            if m:
                end = src.index('"' + m.group(1), j + len(m.group(0))) + 1 + len(m.group(1))
                cur.append(src[j:end])
                j = end
                continue
        if c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[j:])
            if m:
                cur.append(m.group(0))
                j += len(m.group(0))
                continue
        if src.startswith("//", j):
            j = src.index("\n", j)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                out.append("".join(cur))
                return [a for a in out if a.strip()]
        if c == "," and depth == 1:
            out.append("".join(cur))
            cur = []
        elif depth >= 1 and not (depth == 1 and j == i):
            cur.append(c)
        j += 1
    raise ValueError("unclosed macro call")


def main(argv):
    verbose = "-v" in argv
    total, bare, lines = collections.Counter(), collections.Counter(), []
    for path in (a for a in argv if a != "-v"):
        src = pathlib.Path(path).read_text()
        for m in PAT.finditer(src):
            needed = 2 if m.group(1).endswith(("_eq", "_ne")) else 1
            total[path] += 1
            if len(arguments(src, m.start(2))) <= needed:
                bare[path] += 1
                lines.append(f"{path}:{src.count(chr(10), 0, m.start()) + 1}: {m.group(1)}!")
    for path in sorted(bare):
        print(f"{bare[path]:4d} of {total[path]:4d} without a message: {path}")
    if verbose:
        print("\n".join(lines))
    print(f"total: {sum(bare.values())} of {sum(total.values())} assertions without a message")
    return 1 if bare else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
