#!/usr/bin/env bash
# What the two quick-start commands need from the machine, checked (and installed) in one place.
#   scripts/prereqs.sh run    what scripts/run.sh needs (the demo's reconciliation fetches its
#                             statement over SFTP from a real OpenSSH sshd)
#   scripts/prereqs.sh test   what scripts/test.sh needs (+ PostgreSQL for the ledger tests,
#                             Prometheus and promtool for the operations test, Chromium and
#                             ChromeDriver for the patient page's browser tests, rustfmt and clippy for the
#                             determinism guard)
# Missing Debian packages are installed with apt-get when this runs as root (a container, CI);
# otherwise it stops at once with the one command that installs them. The Temporal CLI and
# schemathesis go into .venv (scripts/devstack.sh, scripts/test.sh): no root needed for those.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?usage: prereqs.sh run|test}
need=()
command -v cargo >/dev/null || { echo "prereqs: no Rust toolchain (cargo). Install it from https://rustup.rs, then run this again." >&2; exit 1; }
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v sftp >/dev/null || need+=(openssh-client)
if [ "$what" = test ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  # The operations test scrapes medpay with a real Prometheus and checks the alert rules.
  { command -v prometheus && command -v promtool; } >/dev/null 2>&1 || need+=(prometheus)
  # The patient page's browser tests: Debian's Chromium driven through its ChromeDriver, and
  # npm for the accessibility audit's axe-core (tests/browser/package.json).
  command -v chromium >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
  command -v npm >/dev/null || need+=(npm)
  # A Chinese font, so the page's screenshots show words, not boxes.
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "prereqs: installing ${need[*]} (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  else
    echo "prereqs: missing ${need[*]}. Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
fi
if [ "$what" = test ]; then
  cargo clippy --version >/dev/null 2>&1 || { echo "prereqs: installing clippy (rustup component add clippy)" >&2; rustup component add clippy >&2; }
  cargo fmt --version >/dev/null 2>&1 || { echo "prereqs: installing rustfmt (rustup component add rustfmt)" >&2; rustup component add rustfmt >&2; }
fi
# The sandbox's SFTP server creates a system user for its statements directory: root only.
if [ "$(id -u)" != 0 ]; then
  echo "prereqs: not root: the sandbox cannot start its SFTP server (it creates the system user medpaysftp)," >&2
  if [ "$what" = test ]; then
    echo "  so the SFTP tests cannot run. Run as root (a container or CI), e.g. sudo scripts/test.sh." >&2
    exit 1
  fi
  echo "  so the demo's reconciliation step will be skipped, and said so. Run as root to include it." >&2
fi
