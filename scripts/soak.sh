#!/usr/bin/env bash
# Soak test (issue 10): mock-server and `loadgen cities` with every check on, for DURATION, at an
# open-model RATE (iterations per second, default 200) so a soak does not need the whole machine.
# Samples both processes' RSS every 10 s; after a warm-up (5 min, or a third of a shorter run)
# prints each one's growth (total and per hour), the violations and the server's 5xx count.
# Exit 0 when both grew under 10 %, no violation and no 5xx; 1 otherwise; 2 on a usage error.
#   scripts/soak.sh 1h            # the acceptance run
#   scripts/soak.sh 3m 100        # a quick check
# Env: SOAK_OUT (target/soak), SOAK_USERS (loadgen --max-users, 50), SOAK_WARMUP (300 s),
#      SOAK_INTERVAL (10 s), SOAK_SERVER_ARGS (extra mock-server flags).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/soak.sh DURATION [RATE]   (DURATION: 90s, 3m, 1h)" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
[[ $1 =~ ^([0-9]+)([smh])$ ]] || usage
case ${BASH_REMATCH[2]} in
  h) seconds=$(( BASH_REMATCH[1] * 3600 )) ;;
  m) seconds=$(( BASH_REMATCH[1] * 60 )) ;;
  s) seconds=${BASH_REMATCH[1]} ;;
esac
rate=${2:-200}
[[ $rate =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage
[[ $seconds -ge 30 ]] || { echo "soak.sh: DURATION must be at least 30s" >&2; exit 2; }
interval=${SOAK_INTERVAL:-10}
warmup=${SOAK_WARMUP:-300}
(( seconds >= 2 * warmup )) || warmup=$(( seconds / 3 ))
out=${SOAK_OUT:-target/soak}
mkdir -p "$out"

if [[ ! -x target/release/mock-server || ! -x target/release/loadgen ]]; then
  echo "building release binaries..." >&2
  cargo build --release -q -p mock-server -p loadgen --bins
fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

# shellcheck disable=SC2086
target/release/mock-server --bind 127.0.0.1:0 ${SOAK_SERVER_ARGS:-} >"$out/mock-server.out" 2>"$out/mock-server.log" &
server=$!
pids+=("$server")
for _ in $(seq 100); do grep -q listening "$out/mock-server.out" && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$out/mock-server.out")
[[ -n $url ]] || { echo "soak.sh: mock-server did not start; see $out/mock-server.log" >&2; exit 1; }

target/release/loadgen cities --base-url "$url/api/v1" --rate "$rate" \
  --max-users "${SOAK_USERS:-50}" --duration "${seconds}s" \
  --list-check --update-check --delete-check --probe-foreign \
  --quiet --json-out "$out/report.json" >"$out/loadgen.log" 2>&1 &
loadgen=$!
pids+=("$loadgen")
echo "soak: $seconds s at $rate iterations/s against $url (server pid $server, loadgen pid $loadgen); output in $out" >&2

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
echo "t_s,server_rss_kb,loadgen_rss_kb" >"$out/rss.csv"
started=$(date +%s)
while kill -0 "$loadgen" 2>/dev/null; do
  now=$(( $(date +%s) - started ))
  echo "$now,$(rss "$server"),$(rss "$loadgen")" >>"$out/rss.csv"
  sleep "$interval" & wait $! || true
done
loadgen_status=0
wait "$loadgen" || loadgen_status=$?
curl -fsS "$url/__admin/stats" >"$out/stats.json" || echo '{}' >"$out/stats.json"

python3 - "$out" "$warmup" "$loadgen_status" <<'EOF'
import csv, json, sys
out, warmup, loadgen_status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [r for r in csv.DictReader(open(f"{out}/rss.csv")) if int(r["server_rss_kb"]) and int(r["loadgen_rss_kb"])]
after = [r for r in rows if int(r["t_s"]) >= warmup]
failed = []
if len(after) < 2:
    print(f"soak: too few RSS samples after the {warmup} s warm-up ({len(after)})")
    failed.append("samples")
else:
    base, last = after[0], after[-1]
    hours = (int(last["t_s"]) - int(base["t_s"])) / 3600
    for name, key in (("mock-server", "server_rss_kb"), ("loadgen", "loadgen_rss_kb")):
        b, l = int(base[key]), int(last[key])
        growth = 100 * (l - b) / b
        print(f"{name:12} RSS {b / 1024:8.1f} MB at {base['t_s']:>5} s -> {l / 1024:8.1f} MB at {last['t_s']:>5} s: "
              f"{growth:+6.2f} % ({growth / hours:+.2f} %/h, {(l - b) / 1024 / hours:+.1f} MB/h)")
        if growth >= 10:
            failed.append(f"{name} RSS growth")
try:
    report = json.load(open(f"{out}/report.json"))
    violations = report["requests"]["violation"]
    requests = report["requests"]["total"]
    print(f"loadgen: {requests} requests, {report['iterations']} iterations, {violations} violations "
          f"({report['violations']}), exit status {loadgen_status}")
except (OSError, KeyError, ValueError) as error:
    print(f"soak: no loadgen report ({error}); see {out}/loadgen.log")
    violations = None
    failed.append("report")
if violations:
    failed.append("violations")
if loadgen_status not in (0, 1):
    failed.append(f"loadgen exit status {loadgen_status}")
stats = json.load(open(f"{out}/stats.json"))
server_5xx = sum(n for statuses in stats.get("requests", {}).values() for s, n in statuses.items() if int(s) >= 500)
print(f"mock-server: {stats.get('requests_total', '?')} requests, {server_5xx} answered 5xx, "
      f"{stats.get('cities', '?')} cities of a cap of {stats.get('max_records', '?')}")
if server_5xx or not stats:
    failed.append("5xx")
print("soak: " + ("FAILED: " + ", ".join(failed) if failed else "ok"))
sys.exit(1 if failed else 0)
EOF
