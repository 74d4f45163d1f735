#!/usr/bin/env bash
# Checks the two Python reference targets the way the old manual check did:
# gcore the running program and count the secret prefix in the core.
#
# - secret.py must leave at least two secrets in its memory.
# - secret_memfd.py must leave none (gcore skips secretmem, and no copy
#   may exist outside it), must show a /secretmem (deleted) rw-s mapping,
#   and process_vm_readv on that mapping must fail with EFAULT.
#
# Only processes started here are inspected and killed, by their PID; the
# temporary folder with the core files is removed on every exit path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
app=$here/../../containers/app
tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
# The prefix is assembled so this script holds no copy of it either.
needle="top""secret_"

# Prints two counts for a gcore of pid $1: hits of the prefix, and whole
# secrets. In secret.py one prefix hit is the constant in its code object,
# and freed strings are often partly overwritten, so the first count is
# always the larger.
count_in_core() {
    gcore -o "$tmp/core" "$1" >/dev/null 2>&1
    local n full
    # grep exits 1 when it finds nothing, which pipefail would turn into
    # a failure; a count of 0 is a result here.
    n=$({ grep -ao "$needle" "$tmp/core.$1" || true; } | wc -l)
    full=$({ grep -aoE "$needle[0-9]{3,}_[0-9a-f]{32}" "$tmp/core.$1" ||
        true; } | wc -l)
    rm -f "$tmp/core.$1"
    echo "$n $full"
}

SECRET_INTERVAL=0.2 python3 "$app/secret.py" >"$tmp/plain.out" &
plain=$!
pids+=("$plain")
SECRET_INTERVAL=0.2 python3 "$app/secret_memfd.py" >"$tmp/memfd.out" &
memfd=$!
pids+=("$memfd")
sleep 2

read -r n full < <(count_in_core "$plain")
echo "secret.py: $(wc -l <"$tmp/plain.out") printed;" \
    "gcore has $n prefix hits, $full whole secrets"
[ "$n" -ge 2 ] && [ "$full" -ge 1 ] || { echo "FAIL: expected more"; exit 1; }

printed=$(wc -l <"$tmp/memfd.out")
addr=$(tail -n1 "$tmp/memfd.out" | grep -o '0x[0-9a-f]*')
grep -E '^[0-9a-f]+-[0-9a-f]+ rw-s .*/secretmem \(deleted\)$' \
    "/proc/$memfd/maps" || { echo "FAIL: no secretmem mapping"; exit 1; }
read -r n full < <(count_in_core "$memfd")
echo "secret_memfd.py: $printed stored; gcore has $n prefix hits"
[ "$n" -eq 0 ] || { echo "FAIL: expected 0"; exit 1; }
python3 "$here/pvm_read.py" "$memfd" "$addr" 46
echo "ok"
