#!/usr/bin/env bash
# The reproduction figures of docs/guide/reproduction.md: on a framework target, find a leak
# (isolation, 20 users, 10 s), prove it (repro, defaults), replay it 50 times on the buggy build,
# then replay it on the clean build (attempts chosen for 99.9 % confidence). Outputs and the
# exact commands (set -x) go to target/repro-figures/TARGET-BUG/.
#   [LG=loadgen] [ISO_FLAGS="--list-check ..."] scripts/repro-figures.sh fastapi|drf|drf-session|express BUG  (from the workspace root)
set -uo pipefail
kind=$1; bug=${2:-shared-identity}; out=target/repro-figures/$kind-$bug; mkdir -p $out
LG=${LG:-target/debug/loadgen}
case $kind in
  fastapi) serve="target/pyenv/bin/python targets/fastapi/serve.py"; api=fixtures/apis/fastapi.toml; path=/api/v1;;
  drf) serve="target/pyenv/bin/python targets/drf/serve.py"; api=fixtures/apis/drf.toml; path="";;
  drf-session) serve="target/pyenv/bin/python targets/drf_session/serve.py"; api=fixtures/apis/drf-session.toml; path="";;
  express) serve="node targets/express/server.js"; api=fixtures/apis/express.toml; path="";;
esac
start() { # env... ; sets PID URL
  mkfifo $out/in.$1 2>/dev/null || true
  ( sleep 100000 > $out/in.$1 ) & HOLD=$!
  env "${@:2}" $serve < $out/in.$1 > $out/serve.$1.out 2> $out/serve.$1.err &
  PID=$!
  for i in $(seq 300); do grep -q listening $out/serve.$1.out 2>/dev/null && break; sleep 0.2; done
  URL=$(sed -n 's/^listening on //p' $out/serve.$1.out)$path
}
start buggy RACEBENCH_BUG=$bug
echo "buggy at $URL"
( set -x; $LG isolation --base-url $URL --api $api --users 20 --duration 10s ${ISO_FLAGS:-} --evidence-out $out/ev.jsonl --json-out $out/run.json ) > $out/isolation.txt 2>&1; echo "isolation exit $?" | tee -a $out/isolation.txt
tail -5 $out/isolation.txt
( set -x; time $LG repro $out/ev.jsonl --api $api --base-url $URL -o $out/repro.toml ) > $out/repro.txt 2>&1; echo "repro exit $?" | tee -a $out/repro.txt
cat $out/repro.txt | tail -20
( set -x; time $LG replay $out/repro.toml --attempts 50 ) > $out/replay-buggy.txt 2>&1; echo "replay buggy exit $?" | tee -a $out/replay-buggy.txt
tail -3 $out/replay-buggy.txt
kill $PID $HOLD 2>/dev/null; wait $PID 2>/dev/null
start clean
echo "clean at $URL"
( set -x; time $LG replay $out/repro.toml --base-url $URL ) > $out/replay-clean.txt 2>&1; echo "replay clean exit $?" | tee -a $out/replay-clean.txt
tail -8 $out/replay-clean.txt
kill $PID $HOLD 2>/dev/null
