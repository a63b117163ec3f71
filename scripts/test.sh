#!/usr/bin/env bash
# The project's one test command: builds everything once, runs every Rust test, then the
# wire-compatibility suite with an unmodified boto3 against a running lab.
#
#   scripts/test.sh
#
# Needs the Rust toolchain and python3. boto3 is taken from python3 when it has it, otherwise
# installed once into a virtual environment under target/. A check that cannot run here is
# not silently passed: it is named, with the reason, in the last lines of the output.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target"
skipped="$(pwd)/$target/skipped-checks.txt"
: >"$skipped"
# Tests that cannot run (for example the Chromium render of the HTML report) append a line here.
export MEMTUNE_SKIPPED_LOG="$skipped"

# Echo the step so a reader of CI logs knows where a failure happened.
step() { printf '\n==> %s\n' "$*"; }

step "finding a python3 with boto3 for the wire-compatibility suite"
python=""
venv="$(pwd)/$target/compat-venv"
if ! command -v python3 >/dev/null; then
    echo "boto3 wire-compatibility suite: python3 not found (install python3)" >>"$skipped"
elif python3 -c 'import boto3' 2>/dev/null; then
    python="$(command -v python3)"
    echo "using $python (boto3 $(python3 -c 'import boto3; print(boto3.__version__)'))"
elif [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
    python="$venv/bin/python"
    echo "using $python (installed earlier)"
elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "boto3 wire-compatibility suite: python3 has no venv module to install boto3 into (Debian: apt-get install python3-venv), or install boto3 yourself (pip install boto3)" >>"$skipped"
else
    echo "python3 has no boto3: installing it into $venv (once)"
    rm -rf "$venv"
    if python3 -m venv "$venv" && "$venv/bin/python" -m pip install --quiet boto3; then
        python="$venv/bin/python"
    else
        echo "boto3 wire-compatibility suite: could not install boto3 into $venv (is the package index reachable?)" >>"$skipped"
    fi
fi

step "cargo build --locked --workspace --all-targets"
cargo build --locked --workspace --all-targets

step "cargo test --locked --workspace"
cargo test --locked --workspace

if [[ -n "$python" ]]; then
    step "boto3 against the lab (tests/compat/run.sh)"
    PATH="$(dirname "$python"):$PATH" bash tests/compat/run.sh "$target/debug/memtune"
fi

echo
if [[ -s "$skipped" ]]; then
    echo "passed, but these checks were SKIPPED:"
    sed 's/^/  - /' "$skipped"
else
    echo "passed: every check ran"
fi
