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
cargo test --release --quiet -- --test-threads 2
