# wirehose: the two commands a newcomer needs are `make demo` and `make test`.
# Everything else is a building block they call. Run `make help` for the list.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
WH     := $(BIN)/wirehose
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help demo test test-unit test-integration test-fault lint typecheck bench up down status model nginx chromium clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@echo "==> creating virtualenv in $(VENV) and installing wirehose"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

model: $(STAMP) ## Install the spaCy model (cached under ~/.cache/wirehose)
	$(WH) model install

up: $(STAMP) ## Provision and start Kafka and Elasticsearch natively (no Docker)
	$(WH) services up

down: $(STAMP) ## Stop the native Kafka and Elasticsearch
	$(WH) services down

status: $(STAMP) ## Show services, lag, dead letters and index counts
	$(WH) status

demo: $(STAMP) model up ## Replay the seeds through the whole pipeline and search the result
	$(WH) demo

lint: $(STAMP) ## ruff lint and format check, and the layering contract (docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP) ## mypy on the packages
	$(BIN)/mypy

test: $(STAMP) model up nginx chromium lint typecheck ## Everything: lint, types, unit, integration, e2e, fault tests
	$(BIN)/pytest

test-unit: $(STAMP) ## Unit tests only (no services)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) model up nginx chromium ## Integration and end-to-end tests only
	$(BIN)/pytest tests/integration tests/e2e

test-fault: $(STAMP) model up ## Fault tests only (kill and restart services)
	$(BIN)/pytest -m fault

# The secured Elasticsearch tests put nginx (TLS, basic auth) in front of the node. Debian's
# package would also start a system nginx on port 80, which nothing here wants (and which fails
# the install when port 80 is taken): a policy-rc.d keeps it from starting while it installs.
nginx: ## Install nginx with apt-get when missing (the secured Elasticsearch tests need it)
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi; \
	echo "==> installing nginx with apt-get (tests/integration/test_secured_elasticsearch.py)"; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then policy=/usr/sbin/policy-rc.d; \
	  printf '#!/bin/sh\nexit 101\n' | $$sudo tee $$policy >/dev/null && $$sudo chmod 755 $$policy; fi; \
	$$sudo apt-get update -qq \
	  && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx; \
	status=$$?; if [ -n "$$policy" ]; then $$sudo rm -f $$policy; fi; exit $$status

# The web page's browser test (tests/e2e/test_web_browser.py) drives Debian's chromium through
# its chromedriver; nothing is downloaded at test time.
chromium: ## Install chromium and chromedriver with apt-get when missing (the web page's browser test)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	echo "==> installing chromium and chromium-driver with apt-get (tests/e2e/test_web_browser.py)"; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	$$sudo apt-get update -qq \
	  && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	     chromium chromium-driver

bench: $(STAMP) model up ## Benchmarks: throughput and latency ratios, written to bench/results
	$(WH) bench

clean: ## Remove the virtualenv (cached downloads in ~/.cache/wirehose stay)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
