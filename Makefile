# redis-ha developer commands. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv lint test-unit test-e2e test toolchain lab lab-check lab-cluster drill lab-down clean

help:
	@echo "make venv       Python virtualenv with pinned dependencies (.venv)"
	@echo "make lint       ruff, mypy, shellcheck, yamllint"
	@echo "make test-unit  unit tests (pure renderers, validation, Pulumi mocks)"
	@echo "make test-e2e   two lab VMs provisioned by the program's commands, then checked"
	@echo "make test       lint + unit + end-to-end tests (what CI runs; root, ~35 min)"
	@echo "make toolchain  build the Pulumi CLI from Go modules into .tools/ (see README)"
	@echo "make lab        local libvirt lab: namespace, libvirtd, base image, package mirror"
	@echo "make lab-check  boot a throwaway guest in the lab, install the cluster packages"
	@echo "make lab-cluster keep a two-node cluster up in the lab, built by the program's commands"
	@echo "make drill      failover drill and benchmark against the lab cluster (DRILL_ARGS=...)"
	@echo "make lab-down   remove everything the lab started or defined"

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/shellcheck -x scripts/*.sh tools/*.sh lab/*.sh .ci/run
	$(BIN)/yamllint -s .

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

# End-to-end tests talk to guest addresses that exist only inside the lab namespace.
test-e2e: $(STAMP) lab
	ip netns exec redis-ha-lab $(BIN)/python -m pytest -s -p no:cacheprovider tests/e2e

test: lint test-unit test-e2e

toolchain:
	tools/build_toolchain.sh

lab:
	lab/up.sh

lab-check: $(STAMP)
	$(BIN)/python lab/smoke.py

lab-cluster: $(STAMP) lab
	ip netns exec redis-ha-lab $(BIN)/python -m lab.cluster up

# Against the cluster `make lab-cluster` keeps; e.g. DRILL_ARGS="--faults redis-crash --trials 3".
drill: $(STAMP)
	ip netns exec redis-ha-lab $(BIN)/python -m drill --lab $(DRILL_ARGS)

lab-down:
	lab/down.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
