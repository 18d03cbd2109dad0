#!/usr/bin/env bash
# The soak (make soak): the production profile of make faults under steady load, with a
# fault every SOAK_FAULT_EVERY seconds (default 30) drawn at random: kill -9 of a web
# process or a worker, a PostgreSQL restart, Redis stopped for 10 s, a worker paused
# past its lease. Then the checks of make faults over everything, plus timers, the
# outbox, the audit chain and the purge. JSON lines on stdout; exit 1 on any violation.
#
# SOAK_REQUESTS (default 10000; CI runs 1000), SOAK_RATE (starts a second, default 1.5),
# SOAK_FAULT_EVERY (seconds, default 30), SOAK_SEED (which faults, default 1). Same
# needs as make faults: root, and Debian's postgresql and redis-server packages; its own
# cluster on 5499 and Redis on 6499 (so never at the same time as make faults).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "soak: run as root (it starts and stops its own PostgreSQL cluster)" >&2
  exit 1
fi
# Debian's redis-server, installed if missing (as make test does); this run starts its own.
command -v redis-server >/dev/null || bash scripts/ensure-redis.sh >/dev/null
for tool in pg_createcluster pg_ctlcluster redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is missing (apt-get install postgresql redis-server)" >&2; exit 1; }
done
requests="${SOAK_REQUESTS:-10000}"
case "$requests" in
  ''|*[!0-9]*) echo "soak: SOAK_REQUESTS must be a whole number, not '$requests'" >&2; exit 2 ;;
esac
# Bounded in time whatever happens: 10 minutes plus 2 seconds a request.
exec timeout --signal=TERM --kill-after=60 $((600 + 2 * requests)) .venv/bin/python -m faults.soak
