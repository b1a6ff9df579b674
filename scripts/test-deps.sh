#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, idempotently, so that `make test`
# works from a fresh clone and `.ci/run` needs no step of its own:
# - a Python virtual environment at target/pyenv from scripts/requirements-test.txt (PyPI), used
#   by the tests that run loadgen against servers built on real frameworks and by the outside
#   checks (Schemathesis, validators);
# - Debian packages listed in scripts/apt-test.txt (installed only when missing; needs root; a
#   non-root user gets the sudo command to run, or sets TEST_DEPS_NO_APT=1 to go on without them);
# - the Node target's packages (targets/express: Express, jsonwebtoken) with `npm ci` from its
#   committed package-lock.json into targets/express/node_modules (needs node and npm).
# Re-running is cheap: the venv and node_modules are rebuilt only when their pin files change.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/pyenv
requirements=scripts/requirements-test.txt
apt_list=scripts/apt-test.txt

if [[ -f $apt_list ]]; then
    missing=()
    while read -r package _; do
        [[ -z $package || $package == \#* ]] && continue
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done <"$apt_list"
    if ((${#missing[@]})); then
        if [[ ${TEST_DEPS_NO_APT:-} == 1 ]]; then
            echo "test-deps: TEST_DEPS_NO_APT=1: not installing ${missing[*]}; the tests that need them will fail" >&2
        elif [[ $(id -u) -ne 0 ]]; then
            echo "test-deps: missing Debian packages (${missing[*]}): install them once with" >&2
            echo "  sudo apt-get install ${missing[*]}" >&2
            echo "or run without them (their tests fail): TEST_DEPS_NO_APT=1 make test" >&2
            exit 1
        else
            echo "test-deps: apt-get install ${missing[*]}"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        fi
    fi
fi

python=${PYTHON:-python3}
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "test-deps: creating $venv from $requirements"
    rm -rf "$venv"
    mkdir -p target
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    echo "$want" >"$stamp"
fi

express=targets/express
lock_stamp=$express/node_modules/.racebench-lock.sha256
want=$(sha256sum "$express/package-lock.json" | cut -d' ' -f1)
if [[ ! -f $lock_stamp || $(cat "$lock_stamp") != "$want" ]]; then
    echo "test-deps: npm ci in $express from its package-lock.json"
    (cd "$express" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$lock_stamp"
fi
