#!/usr/bin/env bash
# make run: starts the whole pipeline on this machine, in the foreground.
#   - a private PostgreSQL under var/pg (unless TRIAGE_DATABASE_URL is set), kept
#     between runs; as root it runs as the unprivileged 'postgres' user;
#   - the store (applies sql/ migrations), the gateway on port 4000, two enrichers, one
#     notifier (notifications out);
#   - prints the dashboard address and the API key; Ctrl-C stops everything in order;
#   - supervises: a service that exits is started again after a backoff (1 s doubling to
#     30 s; back to 1 s once it has run for a minute), with a line saying so.
# The internal plane stays private: the socket folder is 0700 and ours (the store also
# refuses another's), and the private PostgreSQL takes only passwords (scram-sha-256,
# kept in var/pg/pgpass, mode 0600, found by libpq through PGPASSFILE), never trust. A
# var/pg cluster made by an older `make run` with trust is upgraded in place at start.
# Logs go to var/log/<process>.log.
set -euo pipefail

BIN=$(cd "${1:-build/bin}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${TRIAGE_RUN_VAR:-$ROOT/var} # tests run it elsewhere
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
mkdir -p -m 700 "$SOCK_DIR"
if [ ! -O "$SOCK_DIR" ] || [ -L "$SOCK_DIR" ]; then
  echo "run: $SOCK_DIR belongs to another user; remove it or run as its owner" >&2
  exit 1
fi
chmod 700 "$SOCK_DIR"
export TRIAGE_STORE_URL=${TRIAGE_STORE_URL:-ipc://$SOCK_DIR/store.ipc}
export TRIAGE_EVENTS_URL=${TRIAGE_EVENTS_URL:-ipc://$SOCK_DIR/events.ipc}
export TRIAGE_JOBS_URL=${TRIAGE_JOBS_URL:-ipc://$SOCK_DIR/jobs.ipc}
export TRIAGE_RESULTS_URL=${TRIAGE_RESULTS_URL:-ipc://$SOCK_DIR/results.ipc}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

# A cluster created with `initdb -A trust` (make run before the internal plane was made
# private) is upgraded in place, once: while trust still lets us in, the role gets the
# password (scram-sha-256), then pg_hba.conf asks for it on every line, and PostgreSQL
# reloads. The old pg_hba.conf is kept as pg_hba.conf.trust.
upgrade_trust_auth() { # dir password
  local dir=$1 password=$2 hba=$1/data/pg_hba.conf
  as_pg grep -Eq '^[^#]*[[:space:]]trust([[:space:]]|$)' "$hba" || return 0
  echo "run: var/pg accepted connections without a password (trust); switching it to scram-sha-256"
  psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U triage -d postgres \
    -v ON_ERROR_STOP=1 -v pw="$password" >/dev/null <<'SQL'
SET password_encryption = 'scram-sha-256';
ALTER ROLE triage PASSWORD :'pw';
SQL
  as_pg cp "$hba" "$hba.trust"
  as_pg sh -c "printf '%s\n' \
    '# make run: password authentication only (upgraded from trust; old file: pg_hba.conf.trust)' \
    'local all all scram-sha-256' 'host all all 127.0.0.1/32 scram-sha-256' \
    'host all all ::1/128 scram-sha-256' >'$hba'"
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" reload >/dev/null
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
  local pgpass=$dir/pgpass password
  if [ -s "$pgpass" ]; then
    password=$(cut -d: -f5 "$pgpass")
  else
    password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    (umask 077 && printf '*:*:*:triage:%s\n' "$password" >"$pgpass")
  fi
  export PGPASSFILE=$pgpass
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    echo "run: creating a private PostgreSQL cluster in var/pg"
    (umask 077 && printf '%s\n' "$password" >"$dir/initdb.pw")
    [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$dir/initdb.pw"
    as_pg "$PG_BIN/initdb" -D "$dir/data" --auth=scram-sha-256 --pwfile="$dir/initdb.pw" \
      -U triage -E UTF8 --locale=C >"$VAR/log/initdb.log"
    rm -f "$dir/initdb.pw"
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
    STARTED_PG=$dir/data
  fi
  upgrade_trust_auth "$dir" "$password"
  if ! psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U triage -d postgres -tAc \
       "SELECT 1 FROM pg_database WHERE datname = 'triage'" | grep -q 1; then
    psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U triage -d postgres -c "CREATE DATABASE triage"
  fi
  export TRIAGE_DATABASE_URL="postgresql://triage@127.0.0.1:$PG_PORT/triage" # password: PGPASSFILE
  echo "run: PostgreSQL on 127.0.0.1:$PG_PORT (data in var/pg/data)"
}

PIDS=()
NAMES=()
BINS=()
STARTED_AT=()
BACKOFF=()
launch() { # index: (re)starts service i
  local i=$1
  # A session of its own: Ctrl-C reaches only this script, which stops them in order.
  TRIAGE_ENRICHER_ID=${NAMES[$i]} setsid "$BIN/${BINS[$i]}" >>"$VAR/log/${NAMES[$i]}.log" 2>&1 </dev/null &
  PIDS[$i]=$!
  STARTED_AT[$i]=$SECONDS
}
start() { # name binary
  local i=${#NAMES[@]}
  NAMES[$i]=$1
  BINS[$i]=$2
  BACKOFF[$i]=1
  launch "$i"
}

# Restarts whichever service has exited, each after its own backoff; returns at once.
RESTART_AT=()
supervise() {
  local i status
  for i in "${!PIDS[@]}"; do
    if [ -n "${RESTART_AT[$i]:-}" ]; then
      if [ "$SECONDS" -ge "${RESTART_AT[$i]}" ]; then
        RESTART_AT[$i]=
        launch "$i"
        echo "run: ${NAMES[$i]} restarted (pid ${PIDS[$i]})" >&2
      fi
      continue
    fi
    kill -0 "${PIDS[$i]}" 2>/dev/null && continue
    status=0
    wait "${PIDS[$i]}" 2>/dev/null || status=$?
    if [ $((SECONDS - STARTED_AT[$i])) -ge 60 ]; then BACKOFF[$i]=1; fi
    echo "run: ${NAMES[$i]} exited (status $status); restarting in ${BACKOFF[$i]} s; see var/log/${NAMES[$i]}.log" >&2
    RESTART_AT[$i]=$((SECONDS + BACKOFF[$i]))
    BACKOFF[$i]=$((BACKOFF[$i] * 2 > 30 ? 30 : BACKOFF[$i] * 2))
  done
}

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "run: stopping"
  # Reverse order: enrichers release their jobs, then the gateway, then the store.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null || true # a service waiting to restart has exited
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
# Supervise until Ctrl-C (or SIGTERM): the trap stops everything in order. The sleep runs
# in the background so that a signal is handled at once.
while :; do
  supervise
  sleep 0.5 &
  wait $! || true
done
