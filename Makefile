# Every task a newcomer needs. Each target installs what is missing first: `run` the runtime dependencies
# only, `test`, `lint`, `format` and `bench` the test and development tools as well.
PYTHON ?= python3
# `make run` listens here; `HOST=0.0.0.0 make run` (or `make run HOST=0.0.0.0`) opens it to the network.
HOST ?= 127.0.0.1
VENV := .venv
BIN := $(VENV)/bin
# Stamps: what each install step last installed, newer than the file it installed from.
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
NODE_RUNTIME := node_modules/.installed-runtime
NODE_DEV := node_modules/.installed-dev

.PHONY: install run test lint format bench chromium redis dist clean

install: $(DEV) $(NODE_DEV)

$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

## Browser libraries (lightweight-charts, Swagger UI, the AsyncAPI viewer) from package-lock.json. `npm ci`
## empties node_modules first, so a full install also stands for the runtime one (no reinstall back and forth).
$(NODE_RUNTIME): package-lock.json
	command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	test $(NODE_DEV) -nt package-lock.json || npm ci --no-audit --no-fund --omit=dev
	touch $@

$(NODE_DEV): package-lock.json
	command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	npm ci --no-audit --no-fund
	touch $@ $(NODE_RUNTIME)

## Serve on http://$(HOST):8000 (PORT and the other settings in config/ apply): runtime dependencies only.
run: $(RUNTIME) $(NODE_RUNTIME)
	$(BIN)/python -m app --host $(HOST)

## Lint, type-check, then every test: the datafeed module under Node, then pytest (browser tests included).
test: lint $(NODE_DEV) chromium redis
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || \
		(echo "The Node tests need Node.js 20 or newer (its WebSocket client); this is $$(node --version)." >&2; exit 1)
	node --experimental-websocket --test --test-timeout=180000 tests/js/
	$(BIN)/python -m pytest

## One file, dist/trading-pro.pyz (shiv): the app, its Python dependencies at the versions tested here
## (.venv's, as constraints), config/, templates/, static/ and the browser libraries. `python3.11
## dist/trading-pro.pyz` serves everything; it holds compiled modules (numpy, orjson) for this platform.
## build/ is emptied first: setuptools would put modules deleted since the last build into the wheel. Its
## __main__ is ours (app/onefile/launcher.py): "needs Python 3.11" on another, a private SHIV_ROOT when ~/.shiv is not
## writable.
dist: $(DEV) $(NODE_RUNTIME)
	rm -rf build dist/wheel dist/trading-pro.pyz
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist/wheel .
	$(BIN)/python -m pip freeze --exclude-editable > dist/constraints.txt
	$(BIN)/shiv --reproducible --compressed --console-script trading-pro --output-file dist/trading-pro.pyz \
		dist/wheel/trading_pro-*.whl --constraint dist/constraints.txt --quiet
	$(BIN)/python -m app.onefile.build dist/trading-pro.pyz
	ls -l dist/trading-pro.pyz

## Debian's chromium for the browser tests (Playwright drives it; it downloads no browser).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

## Debian's redis-server: the scale-out tests start private ones on free ports (.ci/run starts the shared one).
redis:
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Benchmarks (figures printed and written to bench/results/): REST under wrk (installed with apt-get if
## missing), hot and rotating; WebSocket fan-out and capacity; 20,000 stalled connections from one address; the
## chart page's first load; 1 and 2 workers; imports into each store, stored /bars, ingest and replay; two
## processes on Redis against one in memory (on the local Redis, else a redis-server of its own); the one file's
## size and start-up. A run that saw error answers, socket errors, malformed frames or unpainted candles is
## FAILED and stops the target.
bench: $(DEV) $(NODE_DEV) chromium redis
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/rest.py
	$(BIN)/python bench/ws_fanout.py
	$(BIN)/python bench/ws_capacity.py
	$(BIN)/python bench/abuse.py
	$(BIN)/python bench/history_load.py
	$(BIN)/python bench/page.py
	$(BIN)/python bench/fidelity.py
	$(BIN)/python bench/workers.py
	$(BIN)/python bench/import_store.py
	$(BIN)/python bench/import_rate.py
	$(BIN)/python bench/stored_rest.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/broker.py
	$(BIN)/python bench/replay.py
	$(MAKE) dist
	$(BIN)/python bench/dist.py

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info bench/results build dist
