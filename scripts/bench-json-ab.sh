#!/usr/bin/env bash
# Instructions per GET /json of two mock-server binaries (e.g. before and after a change), counted
# by callgrind: deterministic where wall-clock throughput on a shared machine is not.
#   scripts/bench-json-ab.sh BASE_BINARY NEW_BINARY [NEW_ARGS...]
#   git stash; cargo build --release -p mock-server; cp target/release/mock-server /tmp/base; git stash pop
#   cargo build --release -p mock-server; scripts/bench-json-ab.sh /tmp/base target/release/mock-server
# Each binary runs under valgrind twice, driven by 200 and by 1200 sequential requests on one
# keep-alive connection (one runtime worker); the difference divided by 1000 is the cost of one more
# request, start-up and shutdown cancelling out. Needs valgrind and python3.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n 2,9p "$0" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is required: apt-get install -y valgrind" >&2; exit 2; }
base=$1 new=$2
shift 2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
client() {
  python3 - "$1" "$2" <<'PY'
import http.client, sys
count, url = int(sys.argv[1]), sys.argv[2]
host, port = url.removeprefix("http://").split(":")
conn = http.client.HTTPConnection(host, int(port), timeout=120)
for _ in range(count):
    conn.request("GET", "/json"); r = conn.getresponse(); r.read(); assert r.status == 200
PY
}
instructions() { # NAME COUNT BINARY ARGS...
  local name=$1 count=$2; shift 2
  local log="$out/$name-$count.log" file="$out/$name-$count.cg"
  TOKIO_WORKER_THREADS=1 RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$@" --bind 127.0.0.1:0 >"$log" 2>"$out/vg.log" &
  local pid=$!
  for _ in $(seq 600); do grep -q listening "$log" && break; sleep 0.1; done
  local url; url=$(sed -n 's/^listening on //p' "$log")
  [[ -n $url ]] || { echo "$1 did not start under valgrind" >&2; cat "$out/vg.log" >&2; exit 1; }
  client "$count" "$url"
  kill -TERM "$pid"; wait "$pid" || true
  sed -n 's/^summary: //p;s/^totals: //p' "$file" | head -1
}
per() { local name=$1; shift; local a b; a=$(instructions "$name" 200 "$@"); b=$(instructions "$name" 1200 "$@"); awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) / 1000 }'; }
b=$(per base "$base")
n=$(per new "$new" "$@")
printf 'base %s Ir per /json\nnew  %s Ir per /json (%+.1f %%)\n' "$b" "$n" "$(awk -v a="$b" -v b="$n" 'BEGIN { print 100 * (b - a) / a }')"
