# Spotline: `make run` to try it, `make test` to run the whole suite.
# Both bootstrap their own virtual environment in .venv on a fresh machine.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
SOAK_REQUESTS ?= 10000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint test-sqlite test-postgres test-browser bench faults soak prod-local \
	messages clean audit-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# make run PORT=8080 HOST=0.0.0.0. Plain "=", so that only the command line changes
# them: HOST and PORT are often set in the environment for other things (tcsh puts the
# machine's name in HOST; platforms put their own port in PORT).
HOST = 127.0.0.1
PORT = 8000

# Log lines for people here (production's default, and `spotline run` without
# configuration, stays JSON); SPOTLINE_LOG_FORMAT=json make run gives JSON.
run: export SPOTLINE_LOG_FORMAT ?= text
# The demo is set in Helsinki: its clocks read Helsinki time.
run: export SPOTLINE_TIME_ZONE ?= Europe/Helsinki
run: install
	$(BIN)/spotline demo --if-empty
	$(BIN)/spotline run --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check spotline
	$(BIN)/mypy spotline
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/spotline makemigrations --check --dry-run

test: install
	bash scripts/test.sh

test-sqlite: install
	bash scripts/test.sh sqlite

test-postgres: install
	bash scripts/test.sh postgres

test-browser: install
	bash scripts/test.sh browser

# Known vulnerabilities in the installed packages (pip-audit; needs PyPI's vulnerability
# service, and fails, not passes, when it cannot reach it). CI runs it.
audit-deps: install
	bash scripts/audit-deps.sh

# Benchmarks: JSON lines on stdout, on SQLite and on PostgreSQL (see bench/ and
# docs/performance.md). Exits non-zero when a benchmark's own check fails.
bench: install
	bash scripts/bench.sh

# Fault tests: kill -9 workers and web processes under load, restart PostgreSQL, stop
# Redis; then check that nothing was lost or done twice (see docs/performance.md).
faults: install
	bash scripts/faults.sh

# The soak: the same system under steady load with a random fault every 30 s (kill -9,
# a PostgreSQL restart, Redis stopped, a worker paused past its lease), then every check
# over everything. `make soak SOAK_REQUESTS=1000` is CI's shorter run.
soak: install
	SOAK_REQUESTS=$(SOAK_REQUESTS) bash scripts/soak.sh

# The production profile on this machine: PostgreSQL and Redis from Debian's packages,
# several web processes and several workers (see "Running in production" in README.md).
prod-local: install
	bash scripts/prod-local.sh

# Re-extract and compile the translations (needs GNU gettext: apt-get install gettext).
# Both django.po and django.mo are committed, so nothing else needs gettext.
messages: install
	$(BIN)/spotline makemessages -l es --ignore ".venv/*" --ignore "e2e/*"
	cd spotline && ../$(BIN)/spotline compilemessages -l es

clean:
	rm -rf $(VENV) var build *.egg-info
