#!/usr/bin/env bash
# Proves that mock-server's store stands alone: builds a throw-away crate holding only
# `store.rs` and the leaves it imports (`limits.rs`, `password.rs`), with none of faults, routes,
# config, auth or HTTP, and runs the store's own unit tests in it.
#
#   scripts/store-alone.sh      # uses $CARGO_TARGET_DIR (default target/) for the build
#
# The crate's lib.rs declares the three modules by #[path] to the real files, so what is tested is
# the code as it is; a `use crate::faults` (or any other module) in them fails the build here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/mock-server/src
dir=$(mktemp -d /tmp/store-alone.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/src"
dep() { # the workspace's version line of a dependency
  sed -n "s/^$1 = /$1 = /p" "$root/Cargo.toml" | head -1
}
cat >"$dir/Cargo.toml" <<EOF
[package]
name = "store-alone"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
shared = { path = "$root/shared" }
$(dep arc-swap)
$(dep dashmap)
$(dep rand)
$(dep sha2)
$(dep subtle)
$(dep thiserror)
$(dep tokio)
$(dep uuid)
EOF
cat >"$dir/src/lib.rs" <<EOF
//! mock-server's store and the leaves under it, and nothing else.
#[path = "$src/limits.rs"]
pub mod limits;
#[path = "$src/password.rs"]
pub mod password;
#[path = "$src/store.rs"]
pub mod store;
EOF
cp "$root/Cargo.lock" "$dir/Cargo.lock"
cd "$dir"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo test -q --lib 2>&1 | grep -v '^$'
echo "store-alone: store.rs, limits.rs and password.rs build and pass their tests with nothing else of mock-server"
