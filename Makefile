# ConsultantOS Jobs. Needs only python3 (3.11+) with venv and pip, and make.
#   make run    the whole stack in the foreground (`consultantos up`; ARGS="--no-flower" ...)
#   make test   the test suite (PYTEST_ARGS="-k dlq" ...)
#   make lint   ruff check and format check
# The venv is .venv; pip reinstalls only when pyproject.toml changed (stamp files in .venv).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test lint clean

run: $(VENV)/.installed
	$(BIN)/consultantos up $(ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The dev extras include everything `run` needs, so they satisfy its stamp too.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@
