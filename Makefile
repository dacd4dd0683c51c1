# The two README commands. Each one creates .venv with the pinned environment first.
.PHONY: demo test lint typecheck tutorials env clean

VENV := .venv/bin
WORKERS ?= 2

env:
	./scripts/setup_env.sh

## The main job: every model on Brian2 and torch, parity table and figures in reports/.
demo: env
	$(VENV)/spikebridge demo --out reports

## Lint, types, the test suite (Brian2 runtime + cpp_standalone, torch) and the tutorials.
test: env lint typecheck
	$(VENV)/python -m pytest -n $(WORKERS) --durations=15
	$(VENV)/python scripts/run_tutorials.py

lint: env
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck: env
	$(VENV)/mypy

tutorials: env
	$(VENV)/python scripts/run_tutorials.py

clean:
	rm -rf .venv reports .pytest_cache .mypy_cache .ruff_cache
