# Two commands for a fresh machine with Python 3.11+: `make demo` and `make test`.
# `make demo` keeps the demo's data and credentials between runs; `make demo RESET=1` starts over.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVER_STAMP := $(VENV)/.installed-server
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: demo centre-demo test lint mutation install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The demo needs the server alone; tests and linters need the dev tools (Playwright,
# Locust, schemathesis...), which take most of an install's time.
$(SERVER_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $(SERVER_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(SERVER_STAMP)
	$(BIN)/cbt-server demo $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST)) $(if $(RESET),--reset)

# A city centre (port 8090, or PORT) and two demo sites (the next two ports), SQLite, data
# in var/centre-demo: results graded at the sites, pulled and re-graded at the centre.
centre-demo: $(SERVER_STAMP)
	$(BIN)/cbt-server centre demo $(if $(PORT),--port $(PORT))

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# How well the fast tests notice a changed line of the pure core (docs/testing.md): a few
# minutes, not part of `make test`; run it when the core changes. Starts from a fresh copy
# so no result is carried over from older code or tests.
mutation: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run $(MUTMUT_ARGS)
	$(BIN)/python tools/mutation_report.py

clean:
	rm -rf $(VENV) var artifacts mutants .pytest_cache .mypy_cache .ruff_cache
