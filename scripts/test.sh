#!/usr/bin/env bash
# The project's one test command: builds everything once, runs every Rust test, then the
# wire-compatibility suite with an unmodified boto3 against a running lab.
#
#   scripts/test.sh             # everything
#   scripts/test.sh compat      # only the boto3 suite, on a build made before (.ci/run)
#
# Needs the Rust toolchain and python3. boto3 is taken from python3 when it has it, otherwise
# installed once into a virtual environment under target/. A check that cannot run here is
# not silently passed: it is named, with the reason, in the last lines of the output.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target"
skipped="$(pwd)/$target/skipped-checks.txt"
# Tests that cannot run (for example the Chromium render of the HTML report) append a line
# here; a caller that ran cargo test itself (.ci/run) keeps its log by setting it first.
if [[ -z "${MEMTUNE_SKIPPED_LOG:-}" ]]; then
    : >"$skipped"
    export MEMTUNE_SKIPPED_LOG="$skipped"
fi
skipped="$MEMTUNE_SKIPPED_LOG"

# Phases: `cargo` (build once, every Rust test) and `compat` (boto3 against the lab).
phases=" ${*:-cargo compat} "
runs() { [[ "$phases" == *" $1 "* ]]; }

# Echo the step so a reader of CI logs knows where a failure happened.
step() { printf '\n==> %s\n' "$*"; }

# Sets `python` to a python3 that has boto3, or logs why the suite cannot run.
find_boto3() {
    python=""
    local venv
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
}

if runs cargo; then
    step "cargo build --locked --workspace --all-targets"
    cargo build --locked --workspace --all-targets

    step "cargo test --locked --workspace"
    cargo test --locked --workspace
fi

if runs compat; then
    step "finding a python3 with boto3 for the wire-compatibility suite"
    find_boto3
    if [[ -n "$python" ]]; then
        step "boto3 against the lab (tests/compat/run.sh)"
        PATH="$(dirname "$python"):$PATH" bash tests/compat/run.sh "$target/debug/memtune"
    fi
fi

echo
if [[ -s "$skipped" ]]; then
    echo "passed, but these checks were SKIPPED:"
    sed 's/^/  - /' "$skipped"
else
    echo "passed: every check ran"
fi
