# The two README commands. Each one creates .venv with the pinned environment first.
.PHONY: demo test lint typecheck tutorials env clean

VENV := .venv/bin
WORKERS ?= 2

env:
	./scripts/setup_env.sh

## The main job: the HH / tv-LIF2HH / s-LIF2HH / LIF equivalence study, quick setting,
## report and figures in reports/equivalence/.
demo: env
	$(VENV)/spikebridge study equivalence --quick --out reports/equivalence

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
