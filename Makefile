# The two README commands. Each one creates .venv with the pinned environment first.
.PHONY: demo test lint typecheck tutorials docs env clean

VENV := .venv/bin
WORKERS ?= 2

env:
	./scripts/setup_env.sh

## The main job: the HH / tv-LIF2HH / s-LIF2HH / LIF equivalence study, quick setting,
## report and figures in reports/equivalence/.
demo: env
	$(VENV)/spikebridge study equivalence --quick --out reports/equivalence

## Lint, types, the test suite (Brian2 runtime + cpp_standalone, torch), the tutorials and
## the documentation site (strict).
test: env lint typecheck
	$(VENV)/python -m pytest -n $(WORKERS) --durations=15
	$(VENV)/python scripts/run_tutorials.py
	$(VENV)/python scripts/build_docs.py

lint: env
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck: env
	$(VENV)/mypy

tutorials: env
	$(VENV)/python scripts/run_tutorials.py

## The documentation site in build/site, strict (needs the executed tutorials).
docs: env
	$(VENV)/python scripts/build_docs.py

clean:
	rm -rf .venv reports .pytest_cache .mypy_cache .ruff_cache docs/generated build/site
