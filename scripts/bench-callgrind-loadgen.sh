#!/usr/bin/env bash
# Instructions per request of `loadgen json` (every check on: status and --expect-json), counted
# by callgrind against nginx (deterministic where wall-clock throughput on a shared machine is not).
#
#   scripts/bench-callgrind-loadgen.sh       # needs valgrind, nginx and python3
#   USERS=10 LOOPS=2000 LOADGEN=/tmp/old-loadgen scripts/bench-callgrind-loadgen.sh
#
# Method: nginx (one worker, the body of mock-server's /json from a `return`, as in
# scripts/bench-perf/nginx.conf.template) is started on a free loopback port; the release loadgen
# runs under `valgrind --tool=callgrind` with USERS users doing LOOPS loops each on one thread:
#   loadgen json --url URL/json --users 10 --loops 2000 --threads 1 --expect-json code=1 --quiet
# Two figures, per request (USERS x LOOPS requests):
#   user task   inclusive Ir of `loadgen::runner::users::user::{{closure}}` (the user task's poll:
#               request, response, checks, recording; the runtime's wake-ups around it excluded)
#   whole run   every instruction of the process (start-up, runtime, report) over the requests
# Env: USERS (10), LOOPS (2000), LOADGEN (a loadgen binary to measure; default: build
# target/release/loadgen), KEEP=DIR (keep the callgrind output in DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${USERS:-10}
loops=${LOOPS:-2000}
requests=$((users * loops))
say() { echo "bench-callgrind-loadgen: $*" >&2; }
command -v valgrind >/dev/null || { say "valgrind is required: apt-get install -y valgrind"; exit 2; }
command -v callgrind_annotate >/dev/null || { say "callgrind_annotate (package valgrind) is required"; exit 2; }
nginx=$(command -v nginx || true)
[ -n "$nginx" ] || { [ -x /usr/sbin/nginx ] && nginx=/usr/sbin/nginx; }
if [ -z "$nginx" ]; then
  say "skipped: nginx is not installed (apt-get install -y nginx); it is the target, faster than loadgen"
  exit 0
fi
loadgen=${LOADGEN:-}
if [ -z "$loadgen" ]; then
  cargo build --release -q -p loadgen
  loadgen=target/release/loadgen
fi

out=$(mktemp -d /tmp/bench-callgrind-loadgen.XXXXXX)
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$out"/*.callgrind "$KEEP"/ 2>/dev/null; fi
  rm -rf "$out"
}
trap cleanup EXIT

# nginx on a free port (asked of the kernel, then released for nginx to bind)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
body='{"code": 1, "message": "Hello, World!"}'
mkdir -p "$out/nginx"
sed -e "s|__WORKERS__|1|; s|__PORT__|$port|; s|__PREFIX__|$out/nginx|g; s|__BODY__|$body|" \
  scripts/bench-perf/nginx.conf.template >"$out/nginx/nginx.conf"
"$nginx" -p "$out/nginx" -e "$out/nginx/error.log" -c "$out/nginx/nginx.conf" &
nginx_pid=$!
url=http://127.0.0.1:$port
python3 - "$url/json" "$body" <<'PY' || { say "nginx did not answer on $url"; cat "$out/nginx/error.log" >&2; exit 1; }
import sys, time, urllib.request
for _ in range(100):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
            assert r.read().decode() == sys.argv[2], "nginx serves another body"
            sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY

file=$out/loadgen.callgrind
valgrind --tool=callgrind --callgrind-out-file="$file" \
  "$loadgen" json --url "$url/json" --users "$users" --loops "$loops" --threads 1 \
  --expect-json code=1 --quiet >"$out/loadgen.log" 2>"$out/valgrind.log" ||
  { say "loadgen failed under valgrind"; cat "$out/loadgen.log" "$out/valgrind.log" >&2; exit 1; }
total=$(sed -n 's/^summary: //p;s/^totals: //p' "$file" | head -1)
# The user task's inclusive count: the largest line naming its closure (the poll of the task).
task=$(callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null |
  awk '/loadgen::runner::users::user::\{\{closure\}\}/ { gsub(",", "", $1); if ($1 + 0 > max) max = $1 + 0 }
       END { print max + 0 }')
[ "$task" -gt 0 ] || { say "no loadgen::runner::users::user::{{closure}} in the profile (symbols stripped?)"; exit 1; }
printf 'loadgen json, %d users x %d loops, --threads 1 --expect-json code=1, against nginx\n' "$users" "$loops"
printf '%-32s %14s\n' "instructions per request" "Ir"
printf '%-32s %14s\n' "user task (inclusive)" "$(awk -v t="$task" -v n="$requests" 'BEGIN { printf "%.0f", t / n }')"
printf '%-32s %14s\n' "whole run / requests" "$(awk -v t="$total" -v n="$requests" 'BEGIN { printf "%.0f", t / n }')"
