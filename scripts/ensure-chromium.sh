#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser): install it
# from Debian's packages if it is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "ensure-chromium: need root (or sudo) to install Debian's chromium package" >&2
    exit 1
  fi
}
echo "ensure-chromium: installing chromium from Debian's packages..." >&2
as_root apt-get update -qq >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
