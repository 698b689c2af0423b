# agent-replay: every target installs what it needs into .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n auto

.PHONY: install test coverage lint bench demo cassettes clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite under coverage, child processes included (pyproject [tool.coverage.*]), then
# the per-module table (printed even when a test failed); fails when a test failed or
# the total drops under fail_under.
coverage: export COVERAGE_FILE = $(CURDIR)/.coverage
coverage: install
	rm -f .coverage .coverage.*
	$(BIN)/python -m coverage run -m pytest $(PYTEST_ARGS); tests=$$?; \
	$(BIN)/python -m coverage combine --quiet && $(BIN)/python -m coverage report; \
	report=$$?; [ $$tests -eq 0 ] && [ $$report -eq 0 ]

bench: install
	$(BIN)/python -m benchmarks

demo: install
	$(BIN)/python -m examples.demo

cassettes: install
	$(BIN)/python -m examples.support_agent.record --out cassettes

clean:
	rm -rf $(VENV) build *.egg-info .coverage .coverage.*
