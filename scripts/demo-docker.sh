#!/usr/bin/env bash
# The demo with containers, as the reference scenario runs it: the plain
# and the memfd_secret program each in its own container (no network),
# found by memscan by container name. Called by scripts/demo.sh.
#
# Usage: scripts/demo-docker.sh MEMSCAN_BINARY
set -euo pipefail

# The verdict counts whole secrets, not every `topsecret_` prefix (the
# report above also shows the program's own source text).
secret_re='topsecret_[0-9]{3}_[0-9a-f]{32}'

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
memscan=${1:?usage: scripts/demo-docker.sh MEMSCAN_BINARY}

plain=python_minimal_unprotected
protected=python_minimal_secretmem
work=$(mktemp -d)
started=()
cleanup() {
    for name in "${started[@]}"; do
        docker rm -f "$name" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> docker engine and images (offline, from a local base)"
scripts/ensure-docker.sh
scripts/build-images.sh >/dev/null

for name in "$plain" "$protected"; do
    if docker inspect "$name" >/dev/null 2>&1; then
        echo "demo: a container named $name exists already; remove it first" >&2
        exit 2
    fi
done
echo "==> starting $plain and $protected"
docker run -d --network none --name "$plain" memscan/unprotected:local >/dev/null
started+=("$plain")
docker run -d --network none --name "$protected" memscan/secretmem:local >/dev/null
started+=("$protected")

# Four secrets each (one every 2 s).
sleep 7
echo "    $plain printed $(docker logs "$plain" | wc -l) secrets"
echo "    $protected: $(docker logs "$protected" | tail -n 1)"

for name in "$plain" "$protected"; do
    echo
    echo "==> memscan --container $name -e topsecret_"
    status=0
    "$memscan" --container "$name" -e topsecret_ || status=$?
    echo "    (exit status $status)"
    "$memscan" --container "$name" -E "$secret_re" --json >"$work/$name.json" || true
done

echo
echo "==> verdict"
scripts/verdict.py "$work/$plain.json" "$work/$protected.json"
