#!/usr/bin/env bash
# Quick start, command 1: bring up the whole product on embedded defaults and run it.
# Starts the Temporal dev server (SQLite, Web UI) and the sandbox counterparties (HTTPS, and
# SFTP statements when run as root with OpenSSH installed), builds and runs `medpay run` (worker
# + HTTP API), runs the self-check through it, prints the URLs, and keeps running until Ctrl-C;
# then stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenSSH (the sandbox's SFTP statements), openssl, curl, python3-venv: installed as root, else
# named with the command that installs them.
scripts/prereqs.sh run
export MEDPAY_TEMPORAL_ADDRESS=${MEDPAY_TEMPORAL_ADDRESS:-http://127.0.0.1:${MEDPAY_TEMPORAL_PORT:-7233}}
export MEDPAY_TEMPORAL_UI_URL=${MEDPAY_TEMPORAL_UI_URL:-http://127.0.0.1:${MEDPAY_TEMPORAL_UI_PORT:-8233}}
export MEDPAY_API_LISTEN=${MEDPAY_API_LISTEN:-127.0.0.1:8080}
export MEDPAY_SANDBOX_LISTEN=${MEDPAY_SANDBOX_LISTEN:-127.0.0.1:9443}
export MEDPAY_SANDBOX_DIR=${MEDPAY_SANDBOX_DIR:-$PWD/.data/sandbox}
if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/sshd ]; then
  export MEDPAY_SANDBOX_SFTP_PORT=${MEDPAY_SANDBOX_SFTP_PORT:-2222}
fi

export MEDPAY_UI_CODEC_ENDPOINT=${MEDPAY_UI_CODEC_ENDPOINT:-http://$MEDPAY_API_LISTEN/codec}
started_stack=0
if ! scripts/devstack.sh status >/dev/null 2>&1; then
  scripts/devstack.sh up
  started_stack=1
fi
cleanup() {
  [ -n "${medpay_pid:-}" ] && kill "$medpay_pid" 2>/dev/null && wait "$medpay_pid" 2>/dev/null
  [ -n "${sandbox_pid:-}" ] && kill "$sandbox_pid" 2>/dev/null && wait "$sandbox_pid" 2>/dev/null
  [ "$started_stack" = 1 ] && scripts/devstack.sh down
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "--- building medpay and medpay-sandbox (a first build takes 5-10 minutes on 2 cores; cargo shows its progress) ---"
cargo build -p medpay-worker --bin medpay -p medpay-sandbox --bin medpay-sandbox
# Where cargo put them (CARGO_TARGET_DIR moves them); demo.sh uses the same.
export MEDPAY_BIN=${CARGO_TARGET_DIR:-$PWD/target}/debug/medpay
SANDBOX_BIN=${CARGO_TARGET_DIR:-$PWD/target}/debug/medpay-sandbox
export MEDPAY_PAYLOAD_KEY_FILE=${MEDPAY_PAYLOAD_KEY_FILE:-$PWD/.data/payload.keys}
[ -f "$MEDPAY_PAYLOAD_KEY_FILE" ] || "$MEDPAY_BIN" keygen --out "$MEDPAY_PAYLOAD_KEY_FILE"
"$SANDBOX_BIN" > .data/sandbox.log 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 60); do
  grep -q "^personas" .data/sandbox.log 2>/dev/null && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat .data/sandbox.log >&2; exit 1; }
  sleep 0.5
done
cat .data/sandbox.log
# medpay talks to the sandbox parties with the parameters the sandbox issued.
export MEDPAY_PARTIES_PARAMS_FILE=${MEDPAY_PARTIES_PARAMS_FILE:-$MEDPAY_SANDBOX_DIR/credentials.json}
export MEDPAY_PARTIES_BASE_URL=${MEDPAY_PARTIES_BASE_URL:-https://$MEDPAY_SANDBOX_LISTEN}
export MEDPAY_PARTIES_CA_FILE=${MEDPAY_PARTIES_CA_FILE:-$MEDPAY_SANDBOX_DIR/tls/ca.pem}
export MEDPAY_CALLBACK_URL=${MEDPAY_CALLBACK_URL:-http://$MEDPAY_API_LISTEN/v1/bank/callback}
# The patient page (/patient/) hands over to the sandbox channel's authorisation and cashier pages.
export MEDPAY_PATIENT_AUTHORISE_URL=${MEDPAY_PATIENT_AUTHORISE_URL:-https://$MEDPAY_SANDBOX_LISTEN/sandbox/patient/authorize-page?channel=\{channel\}&return=\{return\}}
export MEDPAY_PATIENT_CASHIER_URL=${MEDPAY_PATIENT_CASHIER_URL:-https://$MEDPAY_SANDBOX_LISTEN/sandbox/patient/cashier-page?mix_trade_no=\{mix_trade_no\}&return=\{return\}}
# Statements: fetched from the sandbox's SFTP server, its host key pinned.
if [ -n "${MEDPAY_SANDBOX_SFTP_PORT:-}" ]; then
  export MEDPAY_RECON_SFTP_HOST=127.0.0.1 MEDPAY_RECON_SFTP_PORT=$MEDPAY_SANDBOX_SFTP_PORT
  export MEDPAY_RECON_SFTP_KEY_FILE=$MEDPAY_SANDBOX_DIR/sftp/ssh/client_key
  export MEDPAY_RECON_SFTP_KNOWN_HOSTS=$MEDPAY_SANDBOX_DIR/sftp/ssh/known_hosts
fi
"$MEDPAY_BIN" run &
medpay_pid=$!
for _ in $(seq 1 60); do
  curl -fsS "http://$MEDPAY_API_LISTEN/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
echo "--- self-check through Temporal (workflow SelfCheckWorkflow) ---"
"$MEDPAY_BIN" doctor
echo "--- the main job: a mixed payment, a refund, today's reconciliation (scripts/demo.sh) ---"
scripts/demo.sh
cat <<MSG

medpay-interlink is running.
  HTTP API     : http://$MEDPAY_API_LISTEN   (try: curl -X POST http://$MEDPAY_API_LISTEN/v1/diagnostics/self-check)
  Temporal UI  : $MEDPAY_TEMPORAL_UI_URL
  Sandbox      : https://$MEDPAY_SANDBOX_LISTEN (CA $MEDPAY_SANDBOX_DIR/tls/ca.pem, parameters $MEDPAY_SANDBOX_DIR/credentials.json)
                 try: curl --cacert $MEDPAY_SANDBOX_DIR/tls/ca.pem https://$MEDPAY_SANDBOX_LISTEN/sandbox/personas
  Schedules    : recon-selfpay-daily-H51010500001, recon-insurance-monthly-H51010500001 (Temporal UI → Schedules)
  Again        : scripts/demo.sh   (step by step with curl: "Walk-through" in README.md)
Press Ctrl-C to stop.
MSG
wait "$medpay_pid"
