#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this).
#
# Lints, then unit and integration tests against real processes. The
# tests start every process they scan themselves and kill it when done.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "==> cargo test (release: the tests scan large targets)"
cargo test --release --quiet -- --test-threads 2
