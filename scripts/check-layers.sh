#!/usr/bin/env bash
# The house's layering, checked on the dependency graph cargo resolves (ARCHITECTURE.md):
# the product binary does not carry the simulator or the harness, the simulator shares only
# `schemas` and `crypto` with the hospital side, and no product crate registers or defines the
# engine baseline (it is `medpay-tools`'). Exit 1 naming each breach.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
deps() { cargo tree -q -e normal -p "$1" --prefix none --format '{p}' 2>/dev/null | awk '{print $1}' | sort -u; }
forbid() {
  local crate=$1; shift
  local have; have=$(deps "$crate")
  for bad in "$@"; do
    if grep -qx "$bad" <<<"$have"; then
      echo "check-layers: $crate depends on $bad (normal dependencies)" >&2; fail=1
    fi
  done
}
forbid medpay-worker medpay-sandbox medpay-harness medpay-tools
# The simulator carries neither the hospital side nor its database and engine crates.
forbid medpay-sandbox medpay-activities medpay-workflows medpay-worker medpay-harness medpay-tools sea-orm temporalio-sdk
forbid medpay-activities medpay-workflows medpay-worker medpay-sandbox medpay-harness
forbid medpay-workflows medpay-worker medpay-sandbox medpay-harness
forbid medpay-harness medpay-worker medpay-activities medpay-workflows medpay-sandbox
if grep -rn "Baseline" schemas/src crypto/src activities/src workflows/src worker/src >/dev/null; then
  grep -rn "Baseline" schemas/src crypto/src activities/src workflows/src worker/src >&2
  echo "check-layers: the engine baseline belongs to medpay-tools, not the product" >&2; fail=1
fi
[ "$fail" = 0 ] && echo "check-layers: layering holds (worker, sandbox, activities, workflows, harness)"
exit "$fail"
