# One way to install, run, test, lint and benchmark: the README, CI and the Dockerfile use these.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench profile snapshot clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

run: install
	$(BIN)/linkup-emulator

lint: install
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

format: install
	$(BIN)/ruff check --fix app tests bench
	$(BIN)/ruff format app tests bench

bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py

profile: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/profile.py

snapshot: install
	$(BIN)/python -m linkup_emulator.generator.snapshot

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
