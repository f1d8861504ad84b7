# Key account portal — the quick start is `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# the app reads them too: links in mails point to where it is served (PORTAL_BASE_URL's default)
export HOST PORT
export FLASK_APP := run.py

.PHONY: run setup install test translations compile-translations clean

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

## axe-core for the accessibility checks of the browser tests, pinned by tests/e2e/package-lock.json
E2E_NODE := tests/e2e/node_modules/.package-lock.json
$(E2E_NODE): tests/e2e/package.json tests/e2e/package-lock.json
	@if command -v npm >/dev/null; then \
		cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error; \
	elif [ -n "$$CI" ]; then \
		echo "npm missing: the accessibility checks need axe-core (apt-get install npm)" >&2; exit 1; \
	else \
		echo "NOTE: npm not found: the accessibility checks of tests/e2e are skipped (apt-get install npm)"; \
	fi

install: $(VENV)/.installed

compile-translations: install
	$(BIN)/pybabel compile -f -d translations

## setup: migrate, apply permissions and roles, load demo data when the database is empty
setup: install compile-translations
	$(BIN)/flask db upgrade
	$(BIN)/flask portal setup
	$(BIN)/flask portal demo

## run: everything above, then serve on http://$(HOST):$(PORT)
run: setup
	$(BIN)/flask run --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite, then again on a throwaway PostgreSQL cluster
## (when initdb/pg_ctl are installed; CI installs them, so there it always runs).
## TEST_WORKERS pytest-xdist processes share the tests (each with its own databases, server and browser).
## The PostgreSQL pass leaves out the accessibility sweep (tests/e2e/test_a11y.py, a tenth of a pass's
## time): it checks the HTML, contrast and phone layout of every page, which the database does not
## change; the browser journeys and every test of what is stored still run on both databases.
TEST_WORKERS ?= 2
SQLITE_ONLY := --ignore=tests/e2e/test_a11y.py
test: $(VENV)/.installed-test $(E2E_NODE) compile-translations
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)
	@if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then \
		echo "== the same suite on PostgreSQL =="; \
		TEST_DB=postgresql $(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(SQLITE_ONLY) $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL server binaries missing in CI" >&2; exit 1; \
	else \
		echo "NOTE: initdb/pg_ctl not found: the PostgreSQL run was skipped (apt-get install postgresql)"; \
	fi

## translations: extract, update and compile the catalogues
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _ -k gettext -k ngettext:1,2 -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
	$(BIN)/pybabel compile -f -d translations

clean:
	rm -rf $(VENV) .pytest_cache tests/e2e/node_modules

## bench: latency, SQL statements and memory on a 1,000,000-order database (bench/README.md);
## SQLite, or PostgreSQL with DATABASE_URL; the database is built once and cached in bench/data/
.PHONY: bench bench-load bench-smoke bench-retention
bench: install compile-translations
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## bench-retention: `flask portal retention` (dry run and run) on a copy of the 1M-order database
bench-retention: install
	$(BIN)/python -m bench.retention $(BENCH_ARGS)

## bench-load: the portal list under gunicorn (2 workers x 4 threads) for 20 s
bench-load: install compile-translations
	$(BIN)/python -m pip install -q --disable-pip-version-check -r bench/requirements-load.txt
	$(BIN)/python -m bench.load $(BENCH_LOAD_ARGS)

## bench-smoke: the tiny benchmark run that `make test` also runs (tests/test_bench_smoke.py)
bench-smoke: $(VENV)/.installed-test compile-translations
	$(BIN)/python -m pytest -q tests/test_bench_smoke.py
