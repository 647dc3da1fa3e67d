# Two set-up commands: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,plot]"
	touch $@ $(VENV)/.installed

# The DECISION trial, 500 simulated replicates on both cores (about half a minute here).
demo: $(VENV)/.installed
	$(BIN)/simtrial run scenarios/decision.toml --n-sims 500 --seed 2014 --workers 2 --quiet

lint: $(VENV)/.installed-test
	$(BIN)/ruff check simtrial tests benchmarks
	$(BIN)/ruff format --check simtrial tests benchmarks

test: lint
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
