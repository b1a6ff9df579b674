#!/usr/bin/env bash
# Proves that stopping the demo half way leaves no process behind. For each signal (KILL first: no
# handler can run, so only the server's --exit-on-stdin-eof can save the day; then TERM and INT),
# it starts racebench-demo, waits until its mock-server listens and an act is under way, signals
# the demo, and checks that the server (and any loadgen the demo started) is gone within a few
# seconds and that the server's port no longer accepts connections.
#
#   scripts/test-bench-kill.sh [BIN_DIR]      BIN_DIR defaults to target/release
#   SIGNALS="KILL" KILL_AFTER=3 scripts/test-bench-kill.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=${1:-target/release}
signals=${SIGNALS:-KILL TERM INT}
after=${KILL_AFTER:-3}
work=$(mktemp -d)
demo=
cleanup() {
    [ -n "$demo" ] && kill -9 "$demo" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A process is alive when it exists and is not a zombie waiting to be reaped.
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

# Waits up to $2 seconds for process $1 to be gone.
gone_within() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        alive "$1" || return 0
        sleep 0.1
    done
    return 1
}

failed=0
for signal in $signals; do
    log="$work/$signal.log"
    # setsid: the demo gets a process group of its own, as under a terminal, but the signal below
    # goes to the demo alone, not to its group.
    setsid "$bin_dir/racebench-demo" --bin-dir "$bin_dir" --out-dir "$work/bench-$signal" \
        >"$log" 2>&1 &
    demo=$!
    for _ in $(seq 100); do
        grep -qs 'listening on' "$log" && break
        sleep 0.1
    done
    line=$(grep -s -m1 'listening on' "$log") || {
        echo "FAIL $signal: the demo's server never listened"
        cat "$log"
        exit 1
    }
    server=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$line")
    port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$line")
    sleep "$after"
    children=$(pgrep -P "$demo" | tr '\n' ' ')
    if ! grep -qw "$server" <<<"$children"; then
        echo "FAIL $signal: mock-server $server is not a child of the demo ($children)"
        exit 1
    fi
    act=$(grep -o '^== Act [0-9]*' "$log" | tail -1)
    killed_at=$(date +%s%N)
    kill -"$signal" "$demo"
    wait "$demo" 2>/dev/null && code=0 || code=$?
    demo=
    verdict=PASS
    gone_within "$server" 5 || verdict=FAIL
    server_ms=$((($(date +%s%N) - killed_at) / 1000000))
    for child in $children; do
        gone_within "$child" 15 || verdict=FAIL
    done
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        verdict=FAIL
    fi
    echo "$verdict $signal during '${act#== }': demo exit $code; server $server (port $port) gone after ${server_ms} ms; children [${children% }] gone"
    if [ "$verdict" != PASS ]; then
        failed=1
        ps -o pid,stat,cmd -p "${children// /,}0" || true
        tail -20 "$log"
    fi
done
exit $failed
