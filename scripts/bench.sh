#!/usr/bin/env bash
# Placeholder demo until loadgen lands: starts the release mock-server on a free port, exercises
# /json and the cities API once with curl, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release
out=$(mktemp)
"$bin/mock-server" --bind 127.0.0.1:0 --delay 200ms >"$out" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$out"' EXIT INT TERM
for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$out")
echo "mock-server at $url"
curl -fsS "$url/json"; echo
curl -fsS "$url/__admin/health"; echo
