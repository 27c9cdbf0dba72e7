# redis-ha developer commands. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The guests' release: debian-13 (default) or debian-12; the lab, its stacks and the e2e suite follow it.
LAB_RELEASE ?= debian-13
# The server on the lab's nodes: redis (default) or valkey.
REDIS_SERVER ?= redis
export LAB_RELEASE REDIS_SERVER
# Extra pytest arguments for the end-to-end suite, e.g. E2E_ARGS="-m matrix" for the short run.
E2E_ARGS ?=
# Everything that talks to a lab guest runs inside the lab's network namespace.
IN_LAB := ip netns exec redis-ha-lab
STACK := $(IN_LAB) $(BIN)/python -m lab.stack

.PHONY: help venv lint test-unit test-e2e test-long test toolchain lab up lab-cluster preview down drill status lab-down clean

help:
	@echo "make up         set up everything (venv, toolchain, lab) and pulumi up the dev stack on the lab"
	@echo "make test       lint + unit + end-to-end through the real engine (what CI runs; root)"
	@echo "make preview    pulumi preview of the dev stack"
	@echo "make down       pulumi destroy of the dev stack, then the lab teardown"
	@echo "make lint       ruff, mypy, shellcheck, yamllint"
	@echo "make test-unit  unit tests (pure renderers, validation, scripts, Pulumi mocks)"
	@echo "make test-e2e   end-to-end: pulumi up of a stack on the lab, checks, second up, destroy"
	@echo "make test-long  end-to-end runs too long for CI: every fault under writes, rolling replacement and its preview, a stopped VM, process lists sampled, TLS rotation, a failed up cleaned up, pcs stonith fence, quorum device and monitoring switched, TLS and exporter cost, stock ratio"
	@echo "make toolchain  build the Pulumi CLI, language host and plugins (see README, Toolchain)"
	@echo "make lab        local libvirt lab: namespace, libvirtd, base image, package mirror"
	@echo "make drill      failover drill and benchmark against the dev stack (DRILL_ARGS=...)"
	@echo "make status     nodes, roles, VIP, replication, failcounts, fencing, quorum from the dev stack's exporters"
	@echo "make lab-down   remove everything the lab started or defined (make down destroys first)"

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/shellcheck -x scripts/*.sh scripts/lib/*.sh tools/*.sh lab/*.sh .ci/run $$(find tests/unit/stand_ins -maxdepth 1 -type f ! -name '*.py')
	$(BIN)/yamllint -s .

# Real redis-server and redis-cli (unpacked from Debian's packages, no service) for the tests
# that load the rendered redis.conf.
REDIS_BINARIES := .tools/redis/usr/bin/redis-server

$(REDIS_BINARIES):
	tools/redis_binaries.sh .tools/redis

test-unit: $(STAMP) $(REDIS_BINARIES)
	$(BIN)/python -m pytest tests/unit

# Tests marked long run on their own (make test-long): E2E_ARGS' -m replaces this one.
test-e2e: $(STAMP) toolchain lab
	$(IN_LAB) $(BIN)/python -m pytest -s -p no:cacheprovider --durations=0 tests/e2e -m "not long" $(E2E_ARGS)

test-long:
	$(MAKE) test-e2e E2E_ARGS="-m long"

# The toolchain's Go build (13 min on a fresh 2-core CI machine, 2026-12-07) shares nothing with
# lint, the unit tests or the lab's image build: they run beside it. Debian's redis binaries come
# first, so that their apt download does not meet the lab's apt install.
test: $(STAMP)
	$(MAKE) $(REDIS_BINARIES)
	$(MAKE) -j4 --output-sync=target lint test-unit toolchain lab
	$(MAKE) test-e2e

toolchain:
	tools/build_toolchain.sh

lab:
	lab/up.sh

up: $(STAMP) toolchain lab
	$(STACK) up

# The dev stack is the lab's kept cluster (the drill's target): the older name still works.
lab-cluster: up

preview: $(STAMP) toolchain lab
	$(STACK) preview

# Destroys only while the lab (and so the stack's libvirtd) is there to destroy it in.
down: $(STAMP)
	if [[ -x .tools/bin/pulumi ]] && ip netns list | grep -qw redis-ha-lab; then $(STACK) destroy; fi
	lab/down.sh

# Against the dev stack `make up` keeps; e.g. DRILL_ARGS="--faults redis-crash --trials 3".
drill: $(STAMP)
	$(IN_LAB) $(BIN)/python -m drill --lab $(DRILL_ARGS)

# One screen read from the dev stack's exporters (STATUS_STACK=e2e for the tests' stack).
STATUS_STACK ?= dev
status: $(STAMP)
	$(STACK) outputs --stack $(STATUS_STACK) | $(IN_LAB) $(BIN)/python -m monitoring.status

lab-down:
	lab/down.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
