# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# A Python >= 3.12 (Django 6.1 needs it): python3.13, python3.12, pyenv's, or python3.
PYTHON ?= $(shell for p in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)

# Translations: the catalogs (locale/*/LC_MESSAGES/django.po) are committed;
# the compiled .mo files are built from them and not committed.
LOCALES := es fr de
MESSAGES_IGNORE := -i .venv -i tests -i bench -i staticfiles -i test-artifacts -i node_modules

.PHONY: run test lint check bench venv clean messages compilemessages

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Jam needs Python 3.12 or newer (Django 6.1). Install it (e.g. 'pyenv install 3.12') and retry." >&2; exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

venv: $(VENV)/.installed
	@$(MAKE) --no-print-directory compilemessages

# Build the .mo files that are older than their .po (needs GNU gettext;
# without it the site still runs, in English only).
compilemessages:
	@if command -v msgfmt >/dev/null 2>&1; then \
		$(PY) manage.py compilemessages --verbosity 0 $(MESSAGES_IGNORE); \
	else echo "note: GNU gettext (msgfmt) is not installed: the interface stays in English."; fi

# Refresh the catalogs from the code and templates, then compile them.
# New strings arrive untranslated; tests/test_i18n.py fails until they are
# translated (docs/i18n.md).
messages: venv
	$(PY) manage.py makemessages $(addprefix -l ,$(LOCALES)) --no-location --no-obsolete $(MESSAGES_IGNORE)
	$(PY) manage.py compilemessages --verbosity 0 $(MESSAGES_IGNORE)

# The server, and beside it the analysis worker that executes the runs the
# "Run analysis" button queues (and re-runs live jams); it stops with the server.
run: venv
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --keep
	@$(PY) manage.py run_analysis_worker --sleep 2 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) jamsite.asgi:application

test: venv
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run

check: lint test

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache

# Live fan-out benchmark (bench/live_bench.py, docs/benchmarks.md): needs
# PostgreSQL and Redis; about six minutes with these defaults. The full run
# of docs/benchmarks.md (about 20 minutes):
#   make bench BENCH_ARGS="--suite connect,matrix,storm,hold,two,posting --storm-pool-check"
# Bigger fan-outs: BENCH_ARGS="--suite matrix --watchers 5000 --rates 5,10 --gen-procs 2"
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/0
# pages_bench creates and drops test_<name> of this URL.
BENCH_PAGES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/jam_pages_bench
BENCH_ARGS ?= --suite matrix,posting --seconds 6
bench: venv
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) \
		$(PY) -m bench.live_bench $(BENCH_ARGS)
	DATABASE_URL=$(BENCH_PAGES_DATABASE_URL) $(PY) -m bench.pages_bench
