#!/usr/bin/env bash
# `make test`: every test suite of the workspace, each one run even when another fails
# (`--no-fail-fast`), then a summary: one line per suite (passed, failed, ignored) and the names
# of the failed tests. Exits 1 when any test failed or a suite did not build.
#   scripts/test.sh                 # what `make test` runs after scripts/test-deps.sh
set -uo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
mkdir -p target
log=target/test.log
: >"$log"
status=0
$CARGO test --workspace --all-targets --no-fail-fast 2>&1 | tee -a "$log" || status=1
$CARGO test --workspace --doc --no-fail-fast 2>&1 | tee -a "$log" || status=1

echo
echo "== test summary (full log: $log)"
awk '
  /^ *Running / { suite = $0; sub(/^ *Running /, "", suite); sub(/-[0-9a-f]+\)$/, ")", suite) }
  /^ *Doc-tests / { suite = "doc-tests " $2 }
  /^test result:/ {
    passed = failed = ignored = 0
    for (i = 1; i <= NF; i++) {
      if ($(i + 1) ~ /^passed/) passed = $i
      if ($(i + 1) ~ /^failed/) failed = $i
      if ($(i + 1) ~ /^ignored/) ignored = $i
    }
    printf "  %-6s %4d passed %3d failed %3d ignored  %s\n", (failed > 0 ? "FAILED" : "ok"), passed, failed, ignored, suite
  }
' "$log"
failed=$(grep -E '^test .* \.\.\. FAILED$' "$log" | sed 's/^test \(.*\) \.\.\. FAILED$/\1/' | sort -u)
if [ -n "$failed" ]; then
  echo "failed tests:"
  echo "$failed" | sed 's/^/  /'
  status=1
fi
if grep -q 'error: could not compile' "$log"; then
  echo "some suites did not build (see $log)"
  status=1
fi
[ "$status" -eq 0 ] && echo "every suite passed" || echo "make test: FAILED"
exit "$status"
