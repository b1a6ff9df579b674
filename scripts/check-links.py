#!/usr/bin/env python3
"""Offline link check of the Markdown files: every relative link and every `#anchor` must resolve.

    scripts/check-links.py              # every *.md git knows of (tracked or not ignored)
    scripts/check-links.py FILE...      # just these files

Checked: inline links and images `[text](target)`, reference definitions `[id]: target`, and that
every reference `[text][id]` has its definition in the same file. A target with a scheme
(`https:`, `mailto:`) is not fetched: the check runs offline. A path resolves against the file's
folder (a leading `/` against the repository root) and must exist; an anchor must be the slug of
a heading of the target Markdown file, as GitHub makes them (lower case, punctuation dropped,
spaces to hyphens, `-1`, `-2` for repeats), or an explicit `<a id="...">`. Code blocks and code
spans are skipped. Prints one line per broken link, `FILE:LINE: ...`, and exits 1 if any.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
DEFINITION = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s+<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
REFERENCE = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])+)\]\[([^\]]*)\]")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The file's lines outside fenced code blocks, numbered from 1, code spans blanked."""
    lines, fence = [], None
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip()
        marker = stripped[:3]
        if fence is None and marker in ("```", "~~~"):
            fence = marker
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        lines.append((number, CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "")
    text = re.sub(r"<[^>]+>", "", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    """Every anchor a Markdown file offers."""
    if path not in cache:
        found: set[str] = set()
        seen: dict[str, int] = {}
        text = path.read_text(encoding="utf-8")
        fence = None
        for line in text.split("\n"):
            stripped = line.lstrip()
            if fence is None and stripped[:3] in ("```", "~~~"):
                fence = stripped[:3]
                continue
            if fence is not None:
                if stripped.startswith(fence):
                    fence = None
                continue
            found.update(EXPLICIT_ANCHOR.findall(line))
            match = HEADING.match(line)
            if match:
                base = slug(match.group(2))
                count = seen.get(base, 0)
                seen[base] = count + 1
                found.add(base if count == 0 else f"{base}-{count}")
        cache[path] = found
    return cache[path]


def check_target(source: Path, root: Path, target: str, cache: dict[Path, set[str]]) -> str | None:
    """Why a link target does not resolve, or None when it does."""
    if not target or SCHEME.match(target):
        return None
    path_part, _, anchor = target.partition("#")
    if path_part:
        base = root if path_part.startswith("/") else source.parent
        resolved = (base / path_part.lstrip("/")).resolve()
        if not resolved.exists():
            return f"{target}: no such file {resolved.relative_to(root) if resolved.is_relative_to(root) else resolved}"
    else:
        resolved = source
    if anchor and resolved.suffix.lower() == ".md" and resolved.is_file():
        if anchor.lower() not in anchors(resolved, cache):
            return f"{target}: no heading with anchor #{anchor} in {resolved.name}"
    return None


def check_file(source: Path, root: Path, cache: dict[Path, set[str]]) -> list[str]:
    problems = []
    lines = prose_lines(source.read_text(encoding="utf-8"))
    defined = set()
    for _, line in lines:
        match = DEFINITION.match(line)
        if match:
            defined.add(match.group(1).lower())
    name = source.relative_to(root) if source.is_relative_to(root) else source
    for number, line in lines:
        targets = INLINE.findall(line)
        definition = DEFINITION.match(line)
        if definition:
            targets.append(definition.group(2))
        for target in targets:
            why = check_target(source, root, target, cache)
            if why:
                problems.append(f"{name}:{number}: broken link {why}")
        for text, ref in REFERENCE.findall(line):
            key = (ref or text).lower()
            if key not in defined:
                problems.append(f"{name}:{number}: reference [{ref or text}] has no definition")
    return problems


def markdown_files(root: Path) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout.split()
    return [root / name for name in sorted(set(listed)) if (root / name).is_file()]


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    files = [Path(arg).resolve() for arg in argv] if argv else markdown_files(root)
    if argv:
        root = Path.cwd().resolve()
    cache: dict[Path, set[str]] = {}
    problems = [problem for path in files for problem in check_file(path, root, cache)]
    for problem in problems:
        print(problem)
    print(f"check-links: {len(files)} files, {len(problems)} broken link(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
