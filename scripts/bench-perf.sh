#!/usr/bin/env bash
# The performance kit (issue 16): loadgen against wrk and oha on a target faster than all of them,
# mock-server against a bare axum hello-world, loadgen's memory per user, its latency beside wrk's,
# and its 2-thread scaling, in ONE run of alternating rounds; prints one table of ratios.
#   make bench-perf                                     # 3 rounds x 8 s: about 4.5 min once built
#   BENCH_ROUNDS=1 BENCH_SECONDS=3 make bench-perf      # a quick look (about 1 min)
# It installs what is missing, skipping what is present: nginx, wrk and GNU time from apt (one
# `apt-get update` if the install needs it; sudo when not root), oha with `cargo install oha
# --locked --no-default-features --features native-tls` into BENCH_TOOLS (pkg-config
# and libssl-dev from apt for it; if that fails, the table has no oha column), built while it
# builds the workspace's release binaries (the bare axum hello-world, bare-axum/, is one). Then it runs
# scripts/bench-perf/run.py. Outputs: target/bench-perf/results.md, results.json, raw/.
# Env: BENCH_ROUNDS (3), BENCH_SECONDS (8), BENCH_CONNS (50), CARGO_TARGET_DIR (binaries are built
# into and read from $CARGO_TARGET_DIR/release), BENCH_BIN=DIR (use the release binaries already in
# DIR: loadgen, mock-server, bare-axum; build nothing), BENCH_NO_INSTALL=1 (fail instead of
# installing), BENCH_OUT=DIR (results there instead of target/bench-perf), BENCH_TOOLS=DIR (where
# oha is built and found: default ~/.cache/racebench/bench-tools, outside the checkout, so a fresh
# clone on the same machine does not build it again), BENCH_ONLY=KINDS (comma-separated: generators, servers, memory,
# latency, scaling; default all).
# Traffic goes to 127.0.0.1 only; every server it starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-target/bench-perf}
tools=${BENCH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/racebench/bench-tools}
mkdir -p "$out" "$tools"
prebuilt=${BENCH_BIN:-}
export BENCH_OUT=$out BENCH_BIN=${BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release}

say() { echo "bench-perf: $*" >&2; }
[ "$(nproc)" -ge 2 ] || { say "needs 2 cores (servers on core 0, clients on core 1)"; exit 2; }
for tool in python3 taskset cargo; do
  command -v "$tool" >/dev/null || { say "$tool is required"; exit 2; }
done

# apt packages for the missing commands: nginx, wrk, /usr/bin/time (package `time`)
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
[ -x /usr/bin/time ] || missing+=(time)
# oha's native-tls build links Debian's OpenSSL (only when oha has to be built)
if ! command -v oha >/dev/null && [ ! -x "$tools/bin/oha" ]; then
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  [ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
  [ "${BENCH_NO_INSTALL:-0}" = 1 ] && { say "missing: ${missing[*]} (apt-get install ${missing[*]})"; exit 2; }
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  say "installing ${missing[*]} from apt"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

# oha: the one on PATH, else ours under BENCH_TOOLS, built once per machine. Built with its
# native-tls feature (Debian's OpenSSL) instead of the default rustls + aws-lc: the kit measures
# plain HTTP, which is the same code in both, and aws-lc's C build is the largest part of oha's
# compile time. It builds in the background while the workspace builds (two cargo processes keep
# both cores busy through each other's serial steps: build scripts, the last crate, linking).
oha=$(command -v oha || true)
if [ -z "$oha" ] && [ -x "$tools/bin/oha" ]; then oha=$tools/bin/oha; fi
oha_build=
trap '[ -z "$oha_build" ] || kill "$oha_build" 2>/dev/null || true' EXIT
if [ -z "$oha" ] && [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
  say "building oha in the background (cargo install oha --locked --no-default-features --features native-tls --root $tools; log: $out/oha-install.log)"
  cargo install oha --locked --no-default-features --features native-tls --root "$tools" \
    >"$out/oha-install.log" 2>&1 &
  oha_build=$!
fi

if [ -n "$prebuilt" ]; then
  say "using the binaries in BENCH_BIN=$prebuilt (nothing built)"
  for bin in loadgen mock-server bare-axum; do
    [ -x "$prebuilt/$bin" ] || { say "missing $prebuilt/$bin"; exit 2; }
  done
else
  say "building the release binaries (cargo build --release --workspace --bins: the bare axum hello-world is one of them)"
  cargo build --release -q --workspace --bins
fi

if [ -n "$oha_build" ]; then
  if wait "$oha_build"; then
    oha=$tools/bin/oha
    oha_build=
  else
    oha_build=
    say "cargo install oha failed (see $out/oha-install.log): the table has no oha column"
  fi
fi
export BENCH_OHA=${oha:+$(cd "$(dirname "$oha")" && pwd)/$(basename "$oha")}

# 10,000 users hold 10,000 sockets, and the server as many
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec python3 scripts/bench-perf/run.py
