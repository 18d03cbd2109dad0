#!/usr/bin/env bash
# A throwaway Redis (Debian's redis-server) on 127.0.0.1 for the tests: install it if
# missing, start it if nothing answers. Prints the REDIS_URL as its last line.
set -euo pipefail
PORT="${SPOTLINE_REDIS_PORT:-6390}"
URL="redis://127.0.0.1:${PORT}/0"
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "ensure-redis: need root (or sudo) to install redis-server; or set TEST_REDIS_URL" >&2
    exit 1
  fi
}
if ! command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: installing redis-server from Debian's packages..." >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
fi
if ! redis-cli -p "$PORT" ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no --daemonize yes >&2
  for _ in $(seq 1 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
echo "$URL"
