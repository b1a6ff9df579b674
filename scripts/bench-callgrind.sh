#!/usr/bin/env bash
# Instructions per request of mock-server's hot paths, every fault off, counted by callgrind
# (deterministic where wall-clock throughput on a shared machine is not).
#
#   scripts/bench-callgrind.sh            # needs valgrind (apt-get install -y valgrind) and python3
#   SMALL=200 LARGE=1200 scripts/bench-callgrind.sh
#
# Method: for each workload the release server runs under `valgrind --tool=callgrind` twice, once
# driven by SMALL requests and once by LARGE requests (one keep-alive connection, sequential, from
# a small Python client), then exits on SIGTERM. Start-up, registration, login and shutdown cost
# the same in both runs, so (Ir(LARGE) - Ir(SMALL)) / (LARGE - SMALL) is the cost of one more
# request. The runtime has one worker thread (TOKIO_WORKER_THREADS=1) so that no work-stealing
# between idle workers adds noise. Workloads:
#   json         GET /json
#   create+read  POST /api/v1/cities then GET /api/v1/cities/{id} of that city, as one user
#                (reported per pair and per request)
#   bare axum    GET /json on bare-axum/src/main.rs (axum::serve, one route, the same body):
#                the baseline; the ratio hello / mock-server is the instruction-count proxy of
#                issue 16's wall-clock ratio (kernel time is the same for both, so the wall-clock
#                ratio is closer to 1 than this one)
set -euo pipefail
cd "$(dirname "$0")/.."
small=${SMALL:-200}
large=${LARGE:-1200}
command -v valgrind >/dev/null || { echo "valgrind is required: apt-get install -y valgrind" >&2; exit 2; }
cargo build --release -q --workspace --bins  # the same feature set as `make release`: nothing rebuilt
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# client WORKLOAD COUNT URL: sends COUNT requests (pairs for create+read) on one connection.
client() {
  python3 - "$@" <<'PY'
import http.client, json, sys
workload, count, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host, port = url.removeprefix("http://").split(":")
conn = http.client.HTTPConnection(host, int(port), timeout=60)
def call(method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, data
if workload == "json":
    for _ in range(count):
        status, _ = call("GET", "/json")
        assert status == 200, status
else:
    creds = {"email": "bench@example.test", "password": "abcdefghi"}
    status, _ = call("POST", "/api/v1/auth/register", json.dumps(creds), {"content-type": "application/json"})
    assert status == 201, status
    status, body = call("POST", "/api/v1/auth/token", "username=bench@example.test&password=abcdefghi",
                        {"content-type": "application/x-www-form-urlencoded"})
    assert status == 200, status
    auth = {"authorization": "Bearer " + json.loads(body)["access_token"], "content-type": "application/json"}
    for i in range(count):
        status, body = call("POST", "/api/v1/cities", json.dumps({"name": f"bench-{i}"}), auth)
        assert status == 201, status
        city = json.loads(body)["data"]["id"]
        status, _ = call("GET", f"/api/v1/cities/{city}", None, auth)
        assert status == 200, status
PY
}

# instructions WORKLOAD COUNT [SERVER ARGS...]: total Ir of one server run (mock-server unless
# given) driven by COUNT requests.
instructions() {
  local log="$out/$1-$2-${#}.log" file="$out/$1-$2-${#}.callgrind" workload=$1 count=$2
  shift 2
  [[ $# -gt 0 ]] || set -- target/release/mock-server --bind 127.0.0.1:0
  TOKIO_WORKER_THREADS=1 RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$@" >"$log" 2>"$out/valgrind.log" &
  local pid=$!
  for _ in $(seq 600); do grep -q listening "$log" && break; sleep 0.1; done
  local url; url=$(sed -n 's/^listening on //p' "$log")
  [ -n "$url" ] || { echo "mock-server did not start under valgrind" >&2; cat "$out/valgrind.log" >&2; exit 1; }
  client "$workload" "$count" "$url" || { echo "the client failed against $*" >&2; cat "$out/valgrind.log" >&2; exit 1; }
  kill -TERM "$pid"
  # mock-server exits 0 on SIGTERM, the bare hello dies of it (143); anything else is a crash.
  local status=0
  wait "$pid" || status=$?
  [[ $status -eq 0 || $status -eq 143 ]] || { echo "the server failed under valgrind (exit $status): $*" >&2; tail -20 "$out/valgrind.log" >&2; exit 1; }
  sed -n 's/^summary: //p;s/^totals: //p' "$file" | head -1
}

per_request() { # WORKLOAD [SERVER ARGS...]
  local a b workload=$1
  shift
  a=$(instructions "$workload" "$small" "$@")
  b=$(instructions "$workload" "$large" "$@")
  awk -v a="$a" -v b="$b" -v n=$((large - small)) 'BEGIN { printf "%.0f", (b - a) / n }'
}

json=$(per_request json)
hello=$(per_request json target/release/bare-axum 127.0.0.1:0)
pair=$(per_request create+read)
printf '%-28s %14s\n' "workload (every fault off)" "Ir per request"
printf '%-28s %14s\n' "bare axum hello GET /json" "$hello"
printf '%-28s %14s  (hello / this = %s)\n' "GET /json" "$json" \
  "$(awk -v a="$hello" -v b="$json" 'BEGIN{printf "%.2f", a/b}')"
printf '%-28s %14s  (%s per pair)\n' "create+read cities" "$(awk -v p="$pair" 'BEGIN{printf "%.0f", p/2}')" "$pair"
