#!/usr/bin/env bash
# Every benchmark in bench/, on SQLite (a temporary data dir) and then on PostgreSQL (the
# spotline_bench database; Redis for the live-push measurement). JSON lines on stdout,
# progress on stderr. Runs them all even when one fails, then exits non-zero if any did
# (a benchmark fails when its own check fails: a missed timer, an answer that differs
# from brute force, a lost request).
# Usage: scripts/bench.sh [sqlite|postgres] [benchmark names...]   e.g. scripts/bench.sh sqlite nearest
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
which="${1:-all}"; shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(nearest request_to_offers timer_lateness checkin_lateness geocode alerts_fanout reports_page plan_classify plan_simulate)
export SPOTLINE_LOG_LEVEL=WARNING
unset DATABASE_URL REDIS_URL
status=0

# The planner's benchmarks use no database: they run on the first pass only.
NO_DB=" plan_classify plan_simulate "

run_all() {
  for name in "${names[@]}"; do
    if [ "$1" = postgresql ] && [[ "$NO_DB" == *" $name "* ]] && [ "$which" = all ]; then
      continue
    fi
    [ -f "bench/$name.py" ] || { echo "bench: no bench/$name.py" >&2; status=1; continue; }
    echo "== bench $name on $1" >&2
    if ! $BIN/python "bench/$name.py"; then
      echo "bench: $name FAILED on $1" >&2
      status=1
    fi
  done
}

if [ "$which" = all ] || [ "$which" = sqlite ]; then
  run_all sqlite
fi
if [ "$which" = all ] || [ "$which" = postgres ]; then
  DATABASE_URL="$(SPOTLINE_PG_DB=spotline_bench SPOTLINE_PG_FRESH=1 bash scripts/ensure-postgres.sh | tail -n1)"
  REDIS_URL="$(bash scripts/ensure-redis.sh | tail -n1 | sed 's#/0$#/15#')"
  export DATABASE_URL REDIS_URL
  run_all postgresql
fi
exit $status
