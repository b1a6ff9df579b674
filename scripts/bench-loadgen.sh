#!/usr/bin/env bash
# loadgen's own speed (issue 4's benchmark; not a test):
#  1. throughput of `loadgen json` beside wrk (and oha when installed) against mock-server /json
#     with no delay, 50 connections, DURATION each; server pinned to core 0, client to core 1;
#  2. peak RSS of loadgen at BIG_USERS users against a 200 ms delayed /json, per user.
# The clients take turns for ROUNDS rounds (default 3) and the best of each is shown: on a shared
# machine, other work only ever lowers a figure, so the best round is the least disturbed one.
#   scripts/bench-loadgen.sh       # needs wrk and GNU time: apt-get install -y wrk time
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
users=${USERS:-50}
rounds=${ROUNDS:-3}
big=${BIG_USERS:-10000}
bin=${CARGO_TARGET_DIR:-target}/release
command -v wrk >/dev/null || { echo "wrk is required: apt-get install -y wrk" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time is required: apt-get install -y time" >&2; exit 2; }
cargo build --release -q -p mock-server -p loadgen --bins
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

# start ARGS...: starts mock-server on core 0 and sets $url from its `listening on` line.
start() {
  cleanup; pids=()
  local log; log=$(mktemp)
  taskset -c 0 "$bin/mock-server" --bind 127.0.0.1:0 "$@" >"$log" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$log")
}

# loadgen_rps ARGS...: loadgen's "Request per Second - mean" on core 1.
loadgen_rps() {
  taskset -c 1 "$bin/loadgen" json --url "$url/json" --users "$users" --duration "$duration" \
    --quiet "$@" | sed -n 's/^Request per Second - mean: //p'
}

# best CURRENT NEW: the larger of two req/s figures.
best() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN{print (b+0 > a+0) ? b : a}'; }

start
wrk_rps=0 lg_rps=0 lg2_rps=0 oha_rps=""
for round in $(seq "$rounds"); do
  wrk_rps=$(best "$wrk_rps" "$(taskset -c 1 wrk -t1 -c"$users" -d"$duration" "$url/json" |
    awk '/Requests\/sec/ {print $2}')")
  lg_rps=$(best "$lg_rps" "$(loadgen_rps)")
  lg2_rps=$(best "$lg2_rps" "$(loadgen_rps --threads 2)")
  if command -v oha >/dev/null; then
    oha_rps=$(best "$oha_rps" "$(taskset -c 1 oha -z "$duration" -c "$users" --no-tui \
      --output-format json "$url/json" | sed -n 's/.*"requestsPerSec": *\([0-9.]*\).*/\1/p' | head -1)")
  fi
  echo "round $round: wrk $wrk_rps, loadgen $lg_rps, loadgen --threads 2 $lg2_rps, oha ${oha_rps:-n/a} (best so far)"
done

pct() { awk -v a="$1" -v b="$wrk_rps" 'BEGIN{printf "%.0f", 100*a/b}'; }
echo
printf '%-52s %12s\n' "client on core 1, $users connections, $duration, best of $rounds" "req/s"
printf '%-52s %12s\n' "wrk -t1" "$wrk_rps"
printf '%-52s %12s  (%s%% of wrk)\n' "loadgen json (default: 1 usable core -> 1 thread)" "$lg_rps" "$(pct "$lg_rps")"
printf '%-52s %12s  (%s%% of wrk)\n' "loadgen json --threads 2 (multi-thread runtime)" "$lg2_rps" "$(pct "$lg2_rps")"
[ -n "$oha_rps" ] && printf '%-52s %12.2f  (%s%% of wrk)\n' "oha" "$oha_rps" "$(pct "$oha_rps")"

# Memory: peak RSS at 1 user (the fixed part) and at $big users, 200 ms delayed target.
start --delay 200ms
peak_kb() {
  /usr/bin/time -v taskset -c 1 "$bin/loadgen" json --url "$url/json" --users "$1" \
    --spawn-rate 5000 --duration "$duration" --quiet 2>&1 >/dev/null |
    awk '/Maximum resident set size/ {print $6}'
}
base=$(peak_kb 1)
peak=$(peak_kb "$big")
echo
printf 'peak RSS: %s KB at 1 user, %s KB at %s users\n' "$base" "$peak" "$big"
awk -v p="$peak" -v b="$base" -v n="$big" \
  'BEGIN{printf "per user: %.1f KB (peak / users), %.1f KB (above the 1-user base)\n", p/n, (p-b)/n}'
