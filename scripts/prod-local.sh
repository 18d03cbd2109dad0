#!/usr/bin/env bash
# The production profile on this machine (`make prod-local`): PostgreSQL and Redis from
# Debian's packages, N web processes (`spotline run --workers N --no-worker`) and M
# `spotline worker` processes, metrics added up across the web processes.
#
# Usage: scripts/prod-local.sh [--port P] [--web N] [--workers M]
#   or the same through the environment: SPOTLINE_PORT (8000), SPOTLINE_WEB_PROCESSES (2),
#   SPOTLINE_WORKER_PROCESSES (2); SPOTLINE_PG_DB (spotline) names the database,
#   SPOTLINE_REDIS_PORT (6379) Redis's port (not 6390: that one is the tests' Redis).
#
# Secrets are generated once into var/prod-local/env (mode 0600) and reused: the KEK
# there is the only key to the sealed data in the database, so keep the two together.
# Ctrl-C or SIGTERM stops every Spotline process this started; PostgreSQL and Redis are
# services and keep running. If any Spotline process exits on its own, all are stopped
# and this exits non-zero: a profile with a dead worker must not look healthy.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

PORT="${SPOTLINE_PORT:-8000}"
WEB="${SPOTLINE_WEB_PROCESSES:-2}"
WORKERS="${SPOTLINE_WORKER_PROCESSES:-2}"
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="$2"; shift 2 ;;
    --web) WEB="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    *) echo "prod-local: unknown argument $1 (--port P, --web N, --workers M)" >&2; exit 2 ;;
  esac
done
for n in "$PORT" "$WEB" "$WORKERS"; do
  case "$n" in ''|*[!0-9]*) echo "prod-local: $n is not a number" >&2; exit 2 ;; esac
done
if [ "$WEB" -lt 2 ]; then
  echo "prod-local: --web is at least 2 (one web process is what 'make run' starts)" >&2
  exit 2
fi

STATE="$PWD/var/prod-local"
mkdir -p "$STATE"
chmod 700 "$STATE"
ENV_FILE="$STATE/env"
if [ ! -s "$ENV_FILE" ]; then
  echo "prod-local: generating secrets into $ENV_FILE (mode 0600)" >&2
  (
    umask 077
    "$BIN/python" - >"$ENV_FILE.new" <<'PY'
import base64, secrets
key = lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
print("# Generated once by scripts/prod-local.sh. The KEK is the only key to the sealed")
print("# data in the database: lose it and that data is gone; keep it out of backups of it.")
print(f"SPOTLINE_SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"SPOTLINE_KEK={key()}")
print(f"SPOTLINE_HASH_KEY={key()}")
PY
    mv "$ENV_FILE.new" "$ENV_FILE"
  )
fi
chmod 600 "$ENV_FILE"
set -a
# shellcheck source=/dev/null
. "$ENV_FILE"
set +a

DATABASE_URL="$(SPOTLINE_PG_DB="${SPOTLINE_PG_DB:-spotline}" bash scripts/ensure-postgres.sh | tail -n1)"
REDIS_URL="$(SPOTLINE_REDIS_PORT="${SPOTLINE_REDIS_PORT:-6379}" bash scripts/ensure-redis.sh | tail -n1)"
export DATABASE_URL REDIS_URL
export SPOTLINE_DATA_DIR="$STATE/data"
export SPOTLINE_SITE_URL="${SPOTLINE_SITE_URL:-http://127.0.0.1:$PORT}"
export PROMETHEUS_MULTIPROC_DIR="$STATE/metrics"
mkdir -p "$SPOTLINE_DATA_DIR" "$PROMETHEUS_MULTIPROC_DIR"

"$BIN/spotline" migrate --no-input -v 0
DEMO="$("$BIN/spotline" demo --if-empty)"

PIDS=()
stop() {
  trap - INT TERM EXIT
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Ten seconds to finish a pass or a request, then no more waiting.
  for _ in $(seq 1 100); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "prod-local: stopped" >&2
}
trap 'stop; exit 0' INT TERM
trap 'stop' EXIT

# Each child in a process group of its own: Ctrl-C reaches this script only, which then
# stops them all in order (SIGTERM, a pass or a request finished, then gone).
set -m

"$BIN/spotline" run --host 127.0.0.1 --port "$PORT" --workers "$WEB" --no-worker &
PIDS+=("$!")
for _ in $(seq 1 "$WORKERS"); do
  "$BIN/spotline" worker &
  PIDS+=("$!")
done

BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && break
  sleep 0.5
done
cat <<EOF

Spotline production profile: $BASE/
  $WEB web processes, $WORKERS workers, PostgreSQL (${DATABASE_URL##*@}), Redis ($REDIS_URL)
  liveness:   curl $BASE/healthz
  readiness:  curl $BASE/readyz
  metrics:    curl $BASE/metrics   (from this machine)
  secrets:    $ENV_FILE

$DEMO

Ctrl-C stops every Spotline process (PostgreSQL and Redis keep running).
EOF

# Any child exiting on its own ends the profile (the EXIT trap stops the others).
set +e
wait -n "${PIDS[@]}"
status=$?
echo "prod-local: a Spotline process exited (status $status); stopping the others" >&2
exit 1
