#!/usr/bin/env bash
# Runs the boto3 compatibility check (boto3_compat.py) against a freshly started lab.
#
#   tests/compat/run.sh [path/to/memtune] [script options, e.g. --sections lambda]
#
# The memtune path defaults to target/debug/memtune.
# Builds nothing. Starts `memtune lab` on a free port, runs the script with an unmodified
# boto3 pointed at it, always stops the lab, and exits with the script's exit code.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
memtune="${1:-target/debug/memtune}"
shift || true
if [[ ! -x "$memtune" ]]; then
    echo "run.sh: no executable memtune at '$memtune' (build it first, or pass its path)" >&2
    exit 2
fi

workdir="$(mktemp -d)"
lab_pid=""
cleanup() {
    if [[ -n "$lab_pid" ]] && kill -0 "$lab_pid" 2>/dev/null; then
        kill "$lab_pid" 2>/dev/null || true
        wait "$lab_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

# --synthetic 60: more than one 50-item page of functions, so pagination is exercised.
# --faults stuck-update=1: at time scale 0 an update would complete at once; this keeps every
# UpdateFunctionConfiguration InProgress for ~2 s (wall time), so the waiter and the 409
# ResourceConflictException for a second update can be checked.
# --accounts/--regions/--role: a second account and region and a role with an external id for
# the STS checks; the demo fleet's own account (123456789012) in us-east-1 stays the default.
"$memtune" lab --listen 127.0.0.1:0 --seed 7 --synthetic 60 --faults stuck-update=1 \
    --accounts 123456789012,111111111111 --regions us-east-1,eu-west-1 \
    --role memtune-tuner:compat-external-id \
    >"$workdir/lab.out" 2>"$workdir/lab.err" &
lab_pid=$!

# The first stdout line is `lab listening on http://127.0.0.1:PORT`.
endpoint=""
for _ in $(seq 300); do
    line="$(head -n 1 "$workdir/lab.out")"
    if [[ "$line" == "lab listening on "* ]]; then
        endpoint="${line#lab listening on }"
        break
    fi
    kill -0 "$lab_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ "$endpoint" != http://* ]]; then
    echo "run.sh: the lab did not report its address (stdout: '${line:-}'); its stderr:" >&2
    cat "$workdir/lab.err" >&2 || true
    exit 2
fi
echo "run.sh: lab at $endpoint (pid $lab_pid)"

status=0
env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN \
    AWS_ENDPOINT_URL="$endpoint" \
    AWS_ACCESS_KEY_ID=AKIDLABCOMPAT \
    AWS_SECRET_ACCESS_KEY=lab-compat-secret \
    AWS_DEFAULT_REGION=us-east-1 \
    AWS_REGION=us-east-1 \
    AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    python3 "$here/boto3_compat.py" "$endpoint" "$@" || status=$?

if ! kill -0 "$lab_pid" 2>/dev/null; then
    echo "run.sh: the lab died during the run; its stderr:" >&2
    cat "$workdir/lab.err" >&2 || true
    [[ $status -eq 0 ]] && status=1
fi
exit "$status"
