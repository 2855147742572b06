# market-monitor: the single entry point. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench test-distributed clean docs

# Create the virtualenv and install the project with the locked versions (constraints.txt).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## demo: run the daily pipeline on the bundled sample province (home: ./var)
demo: $(STAMP)
	$(BIN)/market-monitor demo

## test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## lint: ruff, and the import layers declared in pyproject.toml ([tool.importlinter])
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

docs: $(STAMP)
	$(BIN)/python -m pipelines.serve.docs

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

test-distributed: $(STAMP)
	bash .ci/distributed.sh

clean:
	rm -rf var .pytest_cache build *.egg-info
