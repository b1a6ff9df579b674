#!/usr/bin/env python3
"""Tests of scripts/check-links.py: good links pass, each kind of broken link fails (exit 1) naming
the file and line. Run: python3 scripts/test-check-links.py (.ci/run does)."""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

CHECKER = Path(__file__).resolve().parent / "check-links.py"


def run(files: dict[str, str]) -> subprocess.CompletedProcess:
    """Writes the files into a fresh folder and runs the checker on every .md among them."""
    folder = Path(tempfile.mkdtemp(prefix="check-links-"))
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    names = [name for name in files if name.endswith(".md")]
    return subprocess.run(
        [sys.executable, str(CHECKER), *names], cwd=folder, capture_output=True, text=True
    )


GOOD_TARGET = "# Guide\n\n## Exit codes\n\n## Regression: `loadgen compare` (baseline)\n\n## Exit codes\n"


class CheckLinks(unittest.TestCase):
    def test_links_that_resolve_pass(self):
        result = run({
            "README.md": (
                "[guide](docs/guide.md) [codes](docs/guide.md#exit-codes)"
                " [again](docs/guide.md#exit-codes-1)"
                " [cmp](docs/guide.md#regression-loadgen-compare-baseline)"
                " [self](#readme) ![img](docs/pic.png) [web](https://example.com/x#y)"
                " [ref][article]\n\n# README\n\n[article]: https://example.com\n"
                "```\n[inside a code block](missing.md)\n```\n`[in a span](missing.md)`\n"
            ),
            "docs/guide.md": GOOD_TARGET + "\n[back](../README.md#readme)\n",
            "docs/pic.png": "",
        })
        self.assertEqual(result.returncode, 0, f"every link resolves: {result.stdout}{result.stderr}")

    def test_a_missing_file_fails_naming_file_and_line(self):
        result = run({"README.md": "# R\n\nsee [the guide](docs/gide.md)\n", "docs/guide.md": GOOD_TARGET})
        self.assertEqual(result.returncode, 1, "a link to a missing file fails the check")
        self.assertIn("README.md:3: broken link docs/gide.md", result.stdout, "names file, line, target")

    def test_a_missing_anchor_fails(self):
        result = run({"README.md": "[codes](docs/guide.md#exit-code)\n", "docs/guide.md": GOOD_TARGET})
        self.assertEqual(result.returncode, 1, "a link to a heading that is not there fails")
        self.assertIn("no heading with anchor #exit-code", result.stdout, "says which anchor")

    def test_a_missing_anchor_in_the_same_file_fails(self):
        result = run({"README.md": "# Top\n\n[down](#bottom)\n"})
        self.assertEqual(result.returncode, 1, "a same-file anchor must exist too")

    def test_a_reference_without_definition_fails(self):
        result = run({"README.md": "read [the article][article-3]\n"})
        self.assertEqual(result.returncode, 1, "an undefined reference renders as plain text")
        self.assertIn("reference [article-3] has no definition", result.stdout, "names the reference")

    def test_a_broken_reference_definition_fails(self):
        result = run({"README.md": "[x][x]\n\n[x]: nowhere/file.md\n"})
        self.assertEqual(result.returncode, 1, "a definition's target is checked like a link's")


if __name__ == "__main__":
    unittest.main()
