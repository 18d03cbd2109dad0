#!/usr/bin/env bash
# The whole suite: lint, types and import rules, migrations check, then pytest on SQLite and on
# PostgreSQL (started from Debian's packages by ensure-postgres.sh if needed).
# Then the browser tests (Playwright driving Debian's Chromium) against a real server.
# Usage: scripts/test.sh [sqlite|postgres|browser] [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
which="${1:-all}"; shift || true

# Tests get a data directory of their own, never the one `make run` uses.
export SPOTLINE_DATA_DIR="${SPOTLINE_TEST_DATA_DIR:-$PWD/var/test}"
unset DATABASE_URL

# Redis for the live-update tests over a real Redis channel layer.
export TEST_REDIS_URL="${TEST_REDIS_URL:-$(bash scripts/ensure-redis.sh | tail -n1)}"

if [ "$which" = all ]; then
  echo "== ruff"; $BIN/ruff check spotline
  echo "== mypy"; $BIN/mypy spotline
  echo "== import rules"; $BIN/lint-imports --no-cache --no-logo
  echo "== migrations"; $BIN/spotline makemigrations --check --dry-run
fi

if [ "$which" = all ] || [ "$which" = sqlite ]; then
  echo "== pytest on SQLite"
  $BIN/pytest "$@"
fi

if [ "$which" = all ] || [ "$which" = browser ]; then
  bash scripts/ensure-chromium.sh
  echo "== browser tests (Chromium)"
  $BIN/pytest e2e "$@"
fi

if [ "$which" = all ] || [ "$which" = postgres ]; then
  url="${TEST_DATABASE_URL:-$(bash scripts/ensure-postgres.sh | tail -n1)}"
  echo "== pytest on PostgreSQL"
  # The concurrency tests race up to 8 threads (each with its own connection) while the
  # test itself holds one: more than a web process's default pool of 8.
  DATABASE_URL="$url" SPOTLINE_DB_POOL_SIZE="${SPOTLINE_DB_POOL_SIZE:-16}" $BIN/pytest "$@"
fi
