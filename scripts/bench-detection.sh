#!/usr/bin/env bash
# Time to first detection of a fault by `loadgen cities`, at several user counts (issue 5's
# benchmark). Starts the release mock-server with the fault on, runs loadgen until the first
# violation or DURATION, ROUNDS times per user count, prints the first_violation_after_s of each.
#   scripts/bench-detection.sh [FAULT] [USERS...]     # default: shared-identity 2 5 20 100
set -euo pipefail
cd "$(dirname "$0")/.."
fault=${1:-shared-identity}; shift || true
users=("${@:-2 5 20 100}"); read -r -a users <<<"${users[*]}"
rounds=${ROUNDS:-3}; duration=${DURATION:-10s}
cargo build --release -q -p mock-server -p loadgen --bins
log=$(mktemp); out=$(mktemp -d)
target/release/mock-server --bind 127.0.0.1:0 --fault "$fault" >"$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$log" "$out"' EXIT INT TERM
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
base="$(sed -n 's/^listening on //p' "$log")/api/v1"
printf '%-8s %s\n' users "first violation after (s), $rounds rounds, fault $fault"
for n in "${users[@]}"; do
  line=""
  for r in $(seq "$rounds"); do
    target/release/loadgen cities --base-url "$base" --users "$n" --duration "$duration" --list-check \
      --quiet --json-out "$out/r.json" >/dev/null 2>&1 || true
    line+=" $(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["first_violation_after_s"]; print("none" if v is None else "%.3f" % v)' "$out/r.json")"
  done
  printf '%-8s%s\n' "$n" "$line"
done
