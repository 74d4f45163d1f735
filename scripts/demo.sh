#!/usr/bin/env bash
# The reference demo: the same secret-making program run plainly and with
# its secrets in memfd_secret memory, then scanned by memscan, which
# replaces the old `gcore PID && grep -a topsecret_ core.PID` check.
#
# Usage: scripts/demo.sh [--plain]
# It starts its own processes and stops them on every exit path.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "==> building memscan (release)"
cargo build --release --quiet --bin memscan
memscan="$root/target/release/memscan"

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

# Three secrets each (one every 2 s).
sleep 5
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
    "$memscan" --pid "$pid" -e topsecret_ --json >"$work/$label.json" || true
}
scan plain "$plain"
scan secretmem "$protected"

echo
echo "==> verdict"
python3 - "$work/plain.json" "$work/secretmem.json" <<'PY'
import json, sys

def summary(path):
    for line in open(path):
        obj = json.loads(line)
        if obj["type"] == "summary":
            return obj
    raise SystemExit(f"demo: no summary in {path}")

plain, secret = summary(sys.argv[1]), summary(sys.argv[2])
print(f"plain        pid {plain['pid']}: {plain['matches']} plaintext secrets "
      "readable by root")
refused = [r for r in secret["unreadable"] if r["protected"]]
how = ", ".join(f"{r['kind']} {r['size'] // 1024} KiB {r['errno']}" for r in refused)
print(f"memfd_secret pid {secret['pid']}: {secret['matches']} secrets found; "
      f"protected and unreadable: {how or 'none'}")
ok = plain["matches"] >= 2 and secret["matches"] == 0 and refused
sys.exit(0 if ok else 1)
PY
