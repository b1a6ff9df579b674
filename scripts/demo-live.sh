#!/usr/bin/env bash
# make demo-live: mock-server with its admin page open for a presenter, until Ctrl-C.
# Starts the release mock-server on $BIND (default 127.0.0.1:8020), prints the page's URL and, with
# LOAD=1 (the default), runs a gentle `loadgen cities` (4 users, --probe-foreign) against it so the
# counters move; switch a fault on in the page and watch cross-user reads appear. LOAD=0: server only.
#   make demo-live                 # then open http://127.0.0.1:8020/__admin/
#   BIND=127.0.0.1:9000 LOAD=0 make demo-live
set -euo pipefail
cd "$(dirname "$0")/.."
bind=${BIND:-127.0.0.1:8020}
load=${LOAD:-1}
server=target/release/mock-server
loadgen=target/release/loadgen
for binary in "$server" $([[ $load == 1 ]] && echo "$loadgen"); do
    [[ -x $binary ]] || { echo "demo-live: $binary is missing; build first: make release" >&2; exit 2; }
done

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "demo-live: stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log=$(mktemp)
"$server" --bind "$bind" --fault-header >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$log")
[[ -n $url ]] || { echo "demo-live: mock-server did not start:" >&2; cat "$log" >&2; exit 2; }

echo "mock-server at $url"
echo "admin page:    $url/__admin/"
echo "metrics:       $url/__admin/metrics    requests: $url/__admin/requests    OpenAPI: $url/openapi.json"
if [[ $load == 1 ]]; then
    "$loadgen" cities --base-url "$url/api/v1" --users 4 --duration 24h --probe-foreign --quiet >/dev/null 2>&1 &
    pids+=($!)
    echo "load:          loadgen cities, 4 users (LOAD=0 to switch off)"
fi
echo "Ctrl-C to stop."
wait "${pids[0]}"
