# market-monitor: the single entry point. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench test-distributed clean docs accuracy

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

## test: the whole test suite, on TEST_WORKERS pytest-xdist workers (tests/conftest.py keeps the tests that
## share a session fixture on one worker); TEST_WORKERS=0 runs it in this process
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25

## lint: ruff, and the import layers declared in pyproject.toml ([tool.importlinter])
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

docs: $(STAMP)
	$(BIN)/python -m pipelines.serve.docs

## bench: docs/BENCHMARKS.md: the scale-100 benchmark (floor, product, pandas peer, 30 vs 180 days of history), then
## the small points of the scale curve (a day of 1 M and 10 M price observations, 30 days of history)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.curve --points 1M,10M

## bench-big: the big points of the scale curve (30 M and 100 M observations); stops itself within 100 minutes
## (--budget 6000 s: the 100 M point's preparation alone takes 13 minutes here, its product run is allowed 4000 s) and
## records a point that runs out of time, memory or disk with where it died; --rss-cap 0.85: the 100 M day's
## preparation peaks at 10.8 GB, 0.46 of this machine's memory
.PHONY: bench-big
bench-big: $(STAMP)
	$(BIN)/python -m benchmarks.curve --points 30M,100M --budget 6000 --timeout 4000 --rss-cap 0.85

## accuracy: the whole accuracy measurement of docs/ACCURACY.md in one command: the power curves, then the
## false-positive rates; writes both generated sections and the measured total time (budget: 20 minutes)
accuracy: $(STAMP)
	$(BIN)/python -m benchmarks.accuracy

## power-curves: detection rate of every indicator id by strength and market context (docs/ACCURACY.md power
## section and docs/accuracy/*.svg)
.PHONY: power-curves false-positives
power-curves: $(STAMP)
	$(BIN)/python -m benchmarks.power_curves

## false-positives: flags per 1,000 clean entities per month, clean provinces and real data (docs/ACCURACY.md);
## FP_ARGS="--ids collusion.cover_distance" measures a subset (printed only)
FP_ARGS ?=
false-positives: $(STAMP)
	$(BIN)/python -m benchmarks.false_positives $(FP_ARGS)

test-distributed: $(STAMP)
	bash .ci/distributed.sh

clean:
	rm -rf var .pytest_cache build *.egg-info
