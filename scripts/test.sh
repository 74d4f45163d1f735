#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this).
#
# Lints, then unit and integration tests against real processes and real
# containers. A Docker engine is installed and started when none answers
# (Debian's docker.io), and the images are built offline from a local
# base, so the container tests run rather than skip. The tests start every
# process and container they scan themselves and remove them when done.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "==> docker engine"
scripts/ensure-docker.sh
echo "==> images"
scripts/build-images.sh
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "==> cargo bench --no-run (the benchmarks build)"
cargo bench --quiet --no-run
echo "==> cargo test (release: the tests scan large targets)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --release --quiet -- --test-threads 2 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole suite, summed over the test binaries.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
