# entchaos: every target that needs the machine ready depends on `setup` (idempotent).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
ENTCHAOS := $(VENV)/bin/entchaos
PYTEST_ARGS ?=

.PHONY: setup venv test test-unit test-integration lint stack-up stack-down stack-status bench bench-stack bench-faults bench-load chaos-recover gameday

setup:
	@bash scripts/setup.sh all

venv:
	@bash scripts/setup.sh venv

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: setup
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check chaos tests bench fixtures

stack-up: setup
	$(ENTCHAOS) stack up

stack-down: venv
	$(ENTCHAOS) stack down

stack-status: venv
	$(ENTCHAOS) stack status

# Scenarios: the stack comes up (or stays up), the runbook runs, the verdict is the exit code.
chaos-%: setup
	$(ENTCHAOS) stack up
	$(ENTCHAOS) run runbooks/$*.yaml

chaos-recover: venv
	$(ENTCHAOS) recover

bench: bench-stack bench-faults bench-load

bench-stack: setup
	$(PY) bench/bench_stack.py

bench-faults: setup
	$(PY) bench/bench_faults.py

bench-load: venv
	@bash scripts/setup.sh bench-tools
	$(PY) bench/bench_load.py

# Game day: the same fire with people in the loop; manual steps wait for Enter and are timed.
gameday: setup
	$(ENTCHAOS) stack up
	$(ENTCHAOS) run runbooks/gameday-datacenter-fire.yaml --gameday
