#!/usr/bin/env bash
# Make a local PostgreSQL (Debian's packages) available for the test suite:
# install it if missing, start the cluster, create the "spotline" role.
# Idempotent; prints the DATABASE_URL to use as its last line.
# SPOTLINE_PG_FRESH=1 drops the database first: a throwaway one (the benchmarks') must
# not carry tables from another checkout's migrations (the cluster outlives any clone).
set -euo pipefail

PGPORT="${SPOTLINE_PG_PORT:-5432}"
DB="${SPOTLINE_PG_DB:-spotline}"
URL="postgres://spotline:spotline@127.0.0.1:${PGPORT}/${DB}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "ensure-postgres: need root (or sudo) to install/start PostgreSQL; or set TEST_DATABASE_URL" >&2
    exit 1
  fi
}

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "ensure-postgres: installing PostgreSQL from Debian's packages..." >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

# Start the first cluster if it is down (there is one per installed major version).
read -r VERSION CLUSTER _ < <(pg_lsclusters --no-header | head -n1) || true
if [ -z "${VERSION:-}" ]; then
  VERSION="$(ls /usr/lib/postgresql | sort -n | tail -n1)"
  CLUSTER=main
  as_root pg_createcluster "$VERSION" "$CLUSTER" >&2
fi
if ! pg_lsclusters --no-header | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
  as_root pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 30); do
  if as_root runuser -u postgres -- psql -qAtc "select 1" >/dev/null 2>&1; then break; fi
  sleep 1
done

as_root runuser -u postgres -- psql -qAt >/dev/null <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'spotline') THEN
    CREATE ROLE spotline LOGIN CREATEDB PASSWORD 'spotline';
  END IF;
END $$;
SQL
if [ "${SPOTLINE_PG_FRESH:-}" = 1 ]; then
  as_root runuser -u postgres -- dropdb --if-exists --force "$DB"
fi
if ! as_root runuser -u postgres -- psql -qAtc "select 1 from pg_database where datname='${DB}'" | grep -q 1; then
  as_root runuser -u postgres -- createdb -O spotline "$DB"
fi
echo "$URL"
