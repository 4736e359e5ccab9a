# Every task a newcomer needs. Each target installs what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# npm writes this file on every install, so it marks node_modules as matching the lockfile.
NODE_INSTALLED := node_modules/.package-lock.json

.PHONY: install run test lint format bench chromium clean

install: $(INSTALLED) $(NODE_INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

## Browser libraries (Swagger UI, the AsyncAPI viewer) from package-lock.json.
$(NODE_INSTALLED): package-lock.json
	command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	npm ci --no-audit --no-fund

## Serve on http://127.0.0.1:8000 (PORT and the other settings in config/ apply).
run: install
	$(BIN)/python -m app --host 127.0.0.1

## Lint, type-check, then every test: the datafeed module under Node, then pytest (browser tests included).
test: lint chromium
	node --experimental-websocket --test --test-timeout=180000 tests/js/
	$(BIN)/python -m pytest

## Debian's chromium for the browser tests (Playwright drives it; it downloads no browser).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Benchmarks (figures printed and written to bench/results/): REST under wrk (installed with apt-get if
## missing), hot and rotating; WebSocket fan-out and capacity; the chart page's first load. A run that saw
## error answers, socket errors, malformed frames or unpainted candles is FAILED and stops the target.
bench: install chromium
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/rest.py
	$(BIN)/python bench/ws_fanout.py
	$(BIN)/python bench/ws_capacity.py
	$(BIN)/python bench/page.py

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info bench/results
