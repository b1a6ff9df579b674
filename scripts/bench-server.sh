#!/usr/bin/env bash
# mock-server throughput beside a bare axum hello-world, in one run (issue 2's benchmark).
# Server pinned to core 0, wrk pinned to core 1, 50 connections, DURATION each (default 10s).
#   scripts/bench-server.sh            # needs wrk (apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
command -v wrk >/dev/null || { echo "wrk is required: apt-get install -y wrk" >&2; exit 2; }
cargo build --release -q --workspace --bins  # the same feature set as `make release`: nothing rebuilt

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

# start BINARY ARGS...: starts a server on core 0 and sets $url from its `listening on` line.
start() {
  local log; log=$(mktemp)
  taskset -c 0 "$@" >"$log" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$log")
}

rps() { taskset -c 1 wrk -t1 -c50 -d"$duration" "$@" | awk '/Requests\/sec/ {print $2}'; }

start target/release/bare-axum 127.0.0.1:0
hello=$(rps "$url/json")
start target/release/mock-server --bind 127.0.0.1:0
json=$(rps "$url/json")
curl -fsS -XPOST "$url/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench@example.test","password":"abcdefghi"}' >/dev/null
export TOKEN
TOKEN=$(curl -fsS -XPOST "$url/api/v1/auth/token" -d 'username=bench@example.test&password=abcdefghi' |
  sed 's/.*"access_token":"\([^"]*\)".*/\1/')
pair=$(rps -s scripts/wrk/create-read.lua "$url")

printf '%-34s %12s\n' "target (wrk -t1 -c50 -d$duration)" "req/s"
printf '%-34s %12s\n' "bare axum hello-world /json" "$hello"
printf '%-34s %12s  (%s%% of bare)\n' "mock-server /json" "$json" "$(awk -v a="$json" -v b="$hello" 'BEGIN{printf "%.0f", 100*a/b}')"
printf '%-34s %12s  (requests; pairs = half)\n' "mock-server create+read cities" "$pair"
