# Two commands on a fresh machine with Python 3.11+ and pip:
#   make run    set up .venv and run the server on http://127.0.0.1:8080 with a demo organization
#               (SQLite file openslots.db here; the demo's key and curl lines are printed once)
#   make test   set up .venv and run the whole suite: ruff, mypy, pytest
# `make run ARGS="--port 9000"` passes options on to `openslots serve`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/openslots serve --demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src connectors tests bench
	$(BIN)/ruff format --check src connectors tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src connectors/openslots_ics connectors/openslots_caldav connectors/openslots_google connectors/openslots_outlook bench

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/on_demand.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
