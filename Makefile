# wirehose: the two commands a newcomer needs are `make demo` and `make test`.
# Everything else is a building block they call. Run `make help` for the list.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
WH     := $(BIN)/wirehose
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help demo test test-unit test-integration test-fault lint typecheck bench up down status model clean

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

test: $(STAMP) model up lint typecheck ## Everything: lint, types, unit, integration, e2e, fault tests
	$(BIN)/pytest

test-unit: $(STAMP) ## Unit tests only (no services)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) model up ## Integration and end-to-end tests only
	$(BIN)/pytest tests/integration tests/e2e

test-fault: $(STAMP) model up ## Fault tests only (kill and restart services)
	$(BIN)/pytest -m fault

bench: $(STAMP) model up ## Benchmarks: throughput and latency ratios, written to bench/results
	$(WH) bench

clean: ## Remove the virtualenv (cached downloads in ~/.cache/wirehose stay)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
