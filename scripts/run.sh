#!/usr/bin/env bash
# make run: starts the whole pipeline on this machine, in the foreground.
#   - a private PostgreSQL under var/pg (unless TRIAGE_DATABASE_URL is set), kept
#     between runs; as root it runs as the unprivileged 'postgres' user;
#   - the store (applies sql/ migrations), the gateway on port 4000, two enrichers, one
#     notifier (notifications out);
#   - prints the dashboard address and the API key; Ctrl-C stops everything in order.
# Logs go to var/log/<process>.log.
set -euo pipefail

BIN=$(cd "${1:-build/bin}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=$ROOT/var
PG_BIN=${TRIAGE_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${TRIAGE_PG_PORT:-55432}
ENRICHERS=${TRIAGE_ENRICHERS:-2}
mkdir -p "$VAR/log"

export TRIAGE_SQL_DIR=${TRIAGE_SQL_DIR:-$ROOT/sql}
export TRIAGE_WEB_DIR=${TRIAGE_WEB_DIR:-$ROOT/web}
export TRIAGE_HTTP_ADDR=${TRIAGE_HTTP_ADDR:-127.0.0.1}
export TRIAGE_HTTP_PORT=${TRIAGE_HTTP_PORT:-4000}
# ipc:// paths must be short; one folder per checkout so two checkouts never collide.
SOCK_DIR=/tmp/triage-$(printf '%s' "$ROOT" | md5sum | cut -c1-10)
mkdir -p "$SOCK_DIR" && chmod 700 "$SOCK_DIR"
export TRIAGE_STORE_URL=${TRIAGE_STORE_URL:-ipc://$SOCK_DIR/store.ipc}
export TRIAGE_EVENTS_URL=${TRIAGE_EVENTS_URL:-ipc://$SOCK_DIR/events.ipc}
export TRIAGE_JOBS_URL=${TRIAGE_JOBS_URL:-ipc://$SOCK_DIR/jobs.ipc}
export TRIAGE_RESULTS_URL=${TRIAGE_RESULTS_URL:-ipc://$SOCK_DIR/results.ipc}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

STARTED_PG=
start_private_pg() {
  local dir=$VAR/pg
  PG_USER=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    PG_USER=postgres
    id postgres >/dev/null 2>&1 || PG_USER=nobody
  fi
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$dir"
  if ! as_pg test -w "$dir"; then
    echo "run: user '$PG_USER' cannot reach $dir (a parent folder is private);" >&2
    echo "run: move the checkout, or set TRIAGE_DATABASE_URL to an existing database." >&2
    exit 1
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    echo "run: creating a private PostgreSQL cluster in var/pg"
    as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U triage -E UTF8 --locale=C >"$VAR/log/initdb.log"
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
    STARTED_PG=$dir/data
  fi
  if ! psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U triage -d postgres -tAc \
       "SELECT 1 FROM pg_database WHERE datname = 'triage'" | grep -q 1; then
    psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U triage -d postgres -c "CREATE DATABASE triage"
  fi
  export TRIAGE_DATABASE_URL="postgresql://triage@127.0.0.1:$PG_PORT/triage"
  echo "run: PostgreSQL on 127.0.0.1:$PG_PORT (data in var/pg/data)"
}

PIDS=()
NAMES=()
start() { # name binary
  local name=$1 bin=$2
  # A session of its own: Ctrl-C reaches only this script, which stops them in order.
  TRIAGE_ENRICHER_ID=$name setsid "$BIN/$bin" >>"$VAR/log/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
  NAMES+=("$name")
}

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "run: stopping"
  # Reverse order: enrichers release their jobs, then the gateway, then the store.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null || true
    wait "${PIDS[$i]}" 2>/dev/null || true
    echo "run: ${NAMES[$i]} stopped"
  done
  if [ -n "$STARTED_PG" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$STARTED_PG" -m fast -w stop >/dev/null && echo "run: PostgreSQL stopped"
  fi
  exit 0
}
trap stop_all INT TERM EXIT

if [ -z "${TRIAGE_DATABASE_URL:-}" ]; then
  start_private_pg
else
  echo "run: using TRIAGE_DATABASE_URL"
fi

start store triage-store
start gateway triage-gateway
URL="http://$TRIAGE_HTTP_ADDR:$TRIAGE_HTTP_PORT"
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null; then break; fi
  for pid in "${PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run: a process exited at start; see var/log/" >&2
      tail -n 20 "$VAR"/log/store.log "$VAR"/log/gateway.log >&2 || true
      exit 1
    fi
  done
  sleep 0.1 # polling for readiness, bounded to 30 s
done
curl -fsS -o /dev/null "$URL/readyz" || { echo "run: the gateway did not become ready; see var/log/" >&2; exit 1; }
for i in $(seq 1 "$ENRICHERS"); do
  start "enricher$i" triage-enricher
done
# After readiness: the store has applied the migrations the notifier's tables come from.
TRIAGE_DASHBOARD_URL=${TRIAGE_DASHBOARD_URL:-$URL} start notifier triage-notifier

KEY=${TRIAGE_API_KEYS:-secret123}
KEY=${KEY%%,*}
cat <<MSG

  Dashboard:  $URL/
  API key:    $KEY
  Try:        curl -X POST $URL/incidents -H 'Content-Type: application/json' \\
                -H 'x-api-key: $KEY' -d '{"title":"Disk Full","description":"Production disk at 100%"}'
  Logs:       var/log/  (store.log, gateway.log, enricher1.log, notifier.log, ...)
  Stop:       Ctrl-C

MSG
wait -n "${PIDS[@]}" || true
for i in "${!PIDS[@]}"; do
  kill -0 "${PIDS[$i]}" 2>/dev/null || echo "run: ${NAMES[$i]} exited unexpectedly; see var/log/${NAMES[$i]}.log" >&2
done
stop_all
