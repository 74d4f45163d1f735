#!/usr/bin/env bash
# The reference demo: the same secret-making program run plainly and with
# its secrets in memfd_secret memory, then scanned by memscan, which
# replaces the old `gcore PID && grep -a topsecret_ core.PID` check.
#
# Usage: scripts/demo.sh [--docker | --plain]
#   --docker  run both programs as containers (installs and starts Docker
#             with scripts/ensure-docker.sh if needed)
#   --plain   run them as plain processes
# Without either, containers are used when a Docker engine answers.
# It starts its own processes and containers and stops them on every exit
# path.
set -euo pipefail

# The verdict counts whole secrets, not every `topsecret_` prefix (the
# report above also shows the program's own source text).
secret_re='topsecret_[0-9]{3}_[0-9a-f]{32}'

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

mode=auto
case "${1:-}" in
    --docker) mode=docker ;;
    --plain) mode=plain ;;
    "") ;;
    *) echo "usage: scripts/demo.sh [--docker | --plain]" >&2; exit 2 ;;
esac
if [ "$mode" = auto ]; then
    if docker info >/dev/null 2>&1; then mode=docker; else mode=plain; fi
fi

echo "==> building memscan (release)"
cargo build --release --quiet --bin memscan
memscan="$root/target/release/memscan"

if [ "$mode" = docker ]; then
    exec scripts/demo-docker.sh "$memscan"
fi

pids=()
work=$(mktemp -d)
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> starting the plain program and the memfd_secret program"
python3 -u containers/app/secret.py >"$work/plain.log" 2>&1 &
plain=$!
pids+=("$plain")
python3 -u containers/app/secret_memfd.py >"$work/secretmem.log" 2>&1 &
protected=$!
pids+=("$protected")

# Four secrets each (one every 2 s).
sleep 7
for pid in "$plain" "$protected"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "demo: pid $pid exited early:" >&2
        cat "$work"/*.log >&2
        exit 2
    fi
done
echo "    plain pid $plain printed $(wc -l <"$work/plain.log") secrets"
echo "    memfd_secret pid $protected: $(tail -n 1 "$work/secretmem.log")"

scan() {
    local label=$1 pid=$2
    echo
    echo "==> memscan --pid $pid -e topsecret_   ($label)"
    local status=0
    "$memscan" --pid "$pid" -e topsecret_ || status=$?
    echo "    (exit status $status)"
    "$memscan" --pid "$pid" -E "$secret_re" --json >"$work/$label.json" || true
}
scan plain "$plain"
scan secretmem "$protected"

echo
echo "==> verdict"
scripts/verdict.py "$work/plain.json" "$work/secretmem.json"
