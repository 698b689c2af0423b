# agent-replay: every target installs what it needs into .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n auto

.PHONY: install test lint bench demo cassettes clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m benchmarks

demo: install
	$(BIN)/python -m examples.demo

cassettes: install
	$(BIN)/python -m examples.support_agent.record --out cassettes
	$(BIN)/python -m examples.support_agent.traced --incident run_d77c --out cassettes/traces/run_d77c.otlp.jsonl

clean:
	rm -rf $(VENV) build *.egg-info
