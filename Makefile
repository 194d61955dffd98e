# Kabinets: `make run` starts the portal with demo data; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

.PHONY: run test test-fast translations extract-messages update-messages clean

$(VENV)/.base: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  (echo "python3-venv is missing; installing it" && apt-get update -qq && \
	   apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV))
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.base requirements-dev.txt
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

translations: $(VENV)/.base
	@$(BIN)/pybabel -q compile -d translations

run: $(VENV)/.base translations
	$(BIN)/flask --app portal init-db
	$(BIN)/flask --app portal seed-demo
	@echo "Kabinets: http://127.0.0.1:$(PORT)  (Ctrl+C stops everything)"
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(PORT) $(BIN)/honcho start -f Procfile

test: $(VENV)/.dev translations
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

test-fast: $(VENV)/.dev translations
	$(BIN)/python -m pytest -n 2 -m "not browser" tests

extract-messages: $(VENV)/.base
	$(BIN)/pybabel extract -F babel.cfg -k _l -o translations/messages.pot --no-location --sort-output --ignore-dirs=".* __pycache__ tests" .

update-messages: extract-messages
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance/kabinets.sqlite3*
