# One way to install, run, test, lint and benchmark: the README, CI and the Dockerfile use these.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The npm tools the contract tests run (Redocly CLI, Spectral, Prism), pinned in tools/.
TOOLS_STAMP := tools/node_modules/.installed-stamp

.PHONY: install tools redis-server chromium run check test lint format lock bench profile snapshot screenshots clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

# npm ci installs exactly tools/package-lock.json. No install scripts: none of the tools needs
# one, and one of their dependencies would send usage data (nothing leaves this machine).
$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	command -v node >/dev/null && command -v npm >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq nodejs npm)
	npm ci --prefix tools --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

tools: $(TOOLS_STAMP)

# The Redis store's tests run against a real redis-server: Debian's package, installed when
# missing by root (CI's clean machine). Elsewhere, without it, those tests skip saying why
# (and fail under CI=true, which .ci/run sets).
redis-server:
	command -v redis-server >/dev/null || [ "$$(id -u)" != 0 ] \
		|| (apt-get update -qq && apt-get install -y -qq redis-server)

# The dashboard's browser tests drive Debian's Chromium through Playwright (never `playwright
# install`, which downloads a browser build): installed when missing by root, as redis-server.
chromium:
	command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] \
		|| (apt-get update -qq && apt-get install -y -qq chromium)

run: install
	$(BIN)/linkup-emulator

lint: install
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy

# The edit-test loop: every test that starts no process, in parallel (seconds).
check: install redis-server
	$(BIN)/pytest -m "not slow" -n auto

# Everything, as CI runs it: lint, then the whole suite in parallel with branch coverage of the
# package (and of the processes the slow tests start); the floor is what the suite reaches
# today (97%), less a little.
COVERAGE_FLOOR := 95
test: lint tools redis-server chromium
	$(BIN)/pytest -n auto --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

# constraints.txt from pyproject.toml: pins already there stay unless they no longer fit.
lock: install
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file constraints.txt pyproject.toml

format: install
	$(BIN)/ruff check --fix app tests bench
	$(BIN)/ruff format app tests bench

bench: install redis-server
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/plugin.py
	$(BIN)/python bench/network.py

profile: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/profile.py

# The README's dashboard screenshots (docs/dashboard-*.png), taken by the browser tests.
screenshots: install tools chromium
	LINKUP_SCREENSHOTS=1 $(BIN)/pytest tests/ui/test_browser.py -q

snapshot: install
	$(BIN)/python -m linkup_emulator.generator.snapshot

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tools/node_modules
