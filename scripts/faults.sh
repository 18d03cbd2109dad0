#!/usr/bin/env bash
# Fault tests (make faults): kill -9 web processes and workers under load, restart
# PostgreSQL, stop Redis; then check nothing acknowledged was lost and nothing was done
# twice. One JSON line per scenario on stdout; exit 1 on any violation.
#
# Runs its OWN PostgreSQL cluster (Debian's pg_createcluster: <version>/spotline_faults on
# port 5499, created once and reused, stopped at the end) and its OWN redis-server on
# 6499, never the shared ones. Needs root (pg_ctlcluster) and Debian's postgresql and
# redis-server packages. Arguments pick scenarios: kill, postgres, redis (default: all).
# FAULTS_RATE (help requests per second, default 10) and FAULTS_RESPONDERS (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "faults: run as root (it starts and stops its own PostgreSQL cluster)" >&2
  exit 1
fi
# Debian's redis-server, installed if missing (as make test does); this run starts its own.
command -v redis-server >/dev/null || bash scripts/ensure-redis.sh >/dev/null
for tool in pg_createcluster pg_ctlcluster redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "faults: $tool is missing (apt-get install postgresql redis-server)" >&2; exit 1; }
done

exec timeout --signal=TERM --kill-after=30 600 .venv/bin/python -m faults.run "$@"
