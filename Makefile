# Development tasks for the dss.apinode collection. Every target builds (or reuses) its own
# virtualenv, so `make demo` and `make test` are the only set-up a newcomer needs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# Newest usable Python (3.13, 3.12, then 3.11); ansible-core 2.20+ needs 3.12.
ifndef PYTHON
PYTHON := $(shell $(ROOT)/hack/find-python)
endif
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
CONSTRAINTS := requirements/constraints-py$(if $(filter 3.11,$(PYTHON_VERSION)),3.11,3.12).txt

VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
# The oldest supported ansible-core (meta/runtime.yml) runs on Python 3.11.
ifndef PYTHON_OLDEST
PYTHON_OLDEST := $(shell $(ROOT)/hack/find-python 11)
endif
VENV_OLDEST := $(ROOT)/.venv-core2.16

COLLECTIONS := $(ROOT)/build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/dss/apinode
# Suites find the collection through the symlinked tree and tools through the venv's bin.
SUITE_ENV = ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) PATH="$(1):$$PATH" VIRTUAL_ENV="$(abspath $(1)/..)"
PYTEST_SUITE = $(call SUITE_ENV,$(BIN)) $(ROOT)/hack/pytest-suite $(BIN)/python
PYTEST_WORKERS ?= 2

.PHONY: help venv venv-oldest tree demo test checks sanity lint units integration molecule bench docs \
	docs-lint core-oldest simulator-tests reliability fleet-suites clean distclean

help:
	@echo "make demo             run the demo against a simulated API-node fleet"
	@echo "make test             everything CI runs (sanity, lint, docs-lint, all test suites, oldest core)"
	@echo "make checks           sanity, lint, docs-lint, units and molecule (make test: two at a time)"
	@echo "make sanity | lint | docs-lint | units | simulator-tests | integration | reliability"
	@echo "make fleet-suites     simulator-tests, integration and reliability in one pytest session"
	@echo "make molecule | core-oldest | bench | docs | clean | distclean"
	@echo "make venv | venv-oldest | tree   the virtualenvs (newest and oldest ansible-core), the collection tree"
	@echo "make -k test          run every suite even after one fails (then exit 2); -jN runs N checks at a time"
	@echo "make test CHECKS_OUTPUT=line   print the checks' output as it comes, interleaved (default: target,"
	@echo "                      each check's output in one piece when it ends)"
	@echo "(python: $(PYTHON) $(PYTHON_VERSION), constraints: $(CONSTRAINTS))"

venv:
	@test -n "$(PYTHON_VERSION)" || { echo "No usable Python 3.11+ found" >&2; exit 1; }
	@$(ROOT)/hack/ensure-venv $(VENV) $(PYTHON) requirements/dev.txt $(CONSTRAINTS)

venv-oldest:
	@$(ROOT)/hack/ensure-venv $(VENV_OLDEST) $(PYTHON_OLDEST) requirements/core-2.16.txt \
		requirements/constraints-core2.16.txt

tree:
	@$(ROOT)/hack/collection-tree link

demo: venv tree
	@test -x $(ROOT)/hack/demo || { echo "make demo: hack/demo is not written yet" >&2; exit 1; }
	$(call SUITE_ENV,$(BIN)) $(ROOT)/hack/demo

# The checks and quick suites keep about one CPU busy each: with GNU make 4 they run two at a time (or as -jN on
# the command line says), each one's output printed in one piece when it ends; CHECKS_OUTPUT=line prints it as it
# comes, for a CI that stops jobs that stay silent for minutes. Older makes run them one by one. The fleet suites,
# which spread over every CPU themselves (pytest-xdist), run after them, then the oldest core's pass. Expanded in
# the recipe, where MAKEFLAGS holds -j, -O and -k (make -k test runs every suite and fails at the end).
CHECKS_OUTPUT ?= target
CHECKS_IN_PARALLEL = $(if $(filter 3.%,$(MAKE_VERSION)),,$(if $(filter -j%,$(MAKEFLAGS)),,-j2) \
	$(if $(filter -O% --output-sync%,$(MAKEFLAGS)),,--output-sync=$(CHECKS_OUTPUT)))
KEEP_GOING = $(findstring k,$(firstword -$(MAKEFLAGS)))

test:
	@failed=; \
	$(MAKE) --no-print-directory $(CHECKS_IN_PARALLEL) checks || { test -n "$(KEEP_GOING)" || exit 2; failed=1; }; \
	$(MAKE) --no-print-directory fleet-suites || { test -n "$(KEEP_GOING)" || exit 2; failed=1; }; \
	$(MAKE) --no-print-directory core-oldest || failed=1; \
	if test -n "$$failed"; then echo "make test: some suites failed" >&2; exit 2; fi; \
	echo "make test: all suites passed"

# sanity first: the longest, it runs beside all the others. The oldest core's virtualenv is built here too.
checks: sanity lint docs-lint units molecule venv-oldest

sanity: venv
	$(call SUITE_ENV,$(BIN)) $(ROOT)/hack/sanity $(BIN)/python

lint: venv tree
	cd $(ROOT) && $(call SUITE_ENV,$(BIN)) ansible-lint --offline
	cd $(ROOT) && $(BIN)/antsibull-changelog lint

units: venv tree
	$(PYTEST_SUITE) tests/unit -n $(PYTEST_WORKERS)

simulator-tests: venv tree
	$(PYTEST_SUITE) tests/simulator/tests -n $(PYTEST_WORKERS)

integration: venv tree
	$(PYTEST_SUITE) tests/integration -n $(PYTEST_WORKERS)

reliability: venv tree
	$(PYTEST_SUITE) tests/reliability -n $(PYTEST_WORKERS)

# The three suites that run simulated nodes, in one session: the workers share all of their work
# instead of each suite ending on one worker while the other waits.
fleet-suites: venv tree
	$(PYTEST_SUITE) tests/simulator/tests tests/integration tests/reliability -n $(PYTEST_WORKERS)

molecule: venv tree
	$(call SUITE_ENV,$(BIN)) $(ROOT)/hack/molecule-all

# On the oldest ansible-core: every unit test, and the integration cases marked core_sensitive (pytest.ini):
# those that depend on how the core runs a task (vaulted keys, argument checks of the role, proxies and path
# prefixes, the operator's one-line errors, delegation to the controller and its background polls, included
# hook task files). The rest of the integration suite runs on the newest core only.
CORE_SENSITIVE_FILES = $(shell grep -l core_sensitive $(ROOT)/tests/integration/test_*.py)
core-oldest: venv-oldest tree
	$(call SUITE_ENV,$(VENV_OLDEST)/bin) $(ROOT)/hack/pytest-suite $(VENV_OLDEST)/bin/python \
		tests/unit -n $(PYTEST_WORKERS)
	$(call SUITE_ENV,$(VENV_OLDEST)/bin) $(ROOT)/hack/pytest-suite $(VENV_OLDEST)/bin/python \
		$(CORE_SENSITIVE_FILES) -m core_sensitive -n $(PYTEST_WORKERS)

bench: venv tree
	@test -f $(ROOT)/tests/performance/run_all.py || \
		{ echo "make bench: tests/performance/run_all.py is not written yet" >&2; exit 1; }
	$(call SUITE_ENV,$(BIN)) $(BIN)/python $(ROOT)/tests/performance/run_all.py

docs-lint: venv tree
	cd $(COLLECTION_LINK) && $(call SUITE_ENV,$(BIN)) antsibull-docs lint-collection-docs --plugin-docs .

docs: venv tree
	$(call SUITE_ENV,$(BIN)) $(ROOT)/hack/docs-site $(ROOT)/build/docsite

clean:
	rm -rf $(ROOT)/build $(ROOT)/tests/output $(ROOT)/.pytest_cache $(ROOT)/.sim
	find $(ROOT) -name __pycache__ -type d -not -path '*/.venv*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(VENV_OLDEST)
