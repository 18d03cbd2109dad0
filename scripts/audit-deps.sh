#!/usr/bin/env bash
# Known vulnerabilities in what is installed (.venv, Spotline itself aside): pip-audit
# against PyPI's vulnerability service (the PyPA advisory database). It fails on any
# known vulnerability, and just as loudly when it could not check: a package it could
# not look up, or the service out of reach, is a failure, never a silent pass (--strict).
# A vulnerability is fixed by raising the package's minimum version in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/pip-audit --local --strict --skip-editable --progress-spinner off --desc on "$@"
then
  echo "audit-deps: FAILED. Either a package above has a known vulnerability, or the" \
       "audit could not be completed (the vulnerability service was unreachable or did" \
       "not answer for a package). Neither is a pass." >&2
  exit 1
fi
