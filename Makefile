# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: setup serve-deps serve test test-fast lint format model browser-deps postgres-deps bench clean lock lock-check js-setup js-lint js-test notebooks monitor

PIP_VERSION := 26.3

# Idempotent: the stamp is rebuilt only when the lock changes. Every package comes from
# requirements.lock (pinned, hashes checked); the project itself is installed on top of it
# without resolving anything (--no-deps), so no indirect dependency floats.
setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install "pip==$(PIP_VERSION)"
	$(BIN)/python -m pip install --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --no-deps -e .
	$(BIN)/python tools/locks.py check
	touch $(STAMP)

# Regenerate requirements.lock and requirements-serve.txt from pyproject.toml (needs the
# package index; uv is in the dev extra). Run after changing a dependency, commit both.
lock:
	test -x $(BIN)/uv || $(BIN)/python -m pip install "uv==0.13.9"
	$(BIN)/python tools/locks.py write $(BIN)/uv

# Offline: the locks match pyproject.toml and each other (part of `make lint`).
lock-check:
	$(BIN)/python tools/locks.py check

# The page's JavaScript checks: TypeScript over the JSDoc types, ESLint and node's test
# runner, installed by package.json + package-lock.json (npm ci; Node.js 20.19+ and npm
# from the machine).
JS_STAMP := node_modules/.installed
js-setup: $(JS_STAMP)

$(JS_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: the JS checks need Node.js 20.19+ with npm"; exit 1; }
	npm ci --no-audit --no-fund
	touch $(JS_STAMP)

js-lint: js-setup
	npx --no-install tsc --noEmit -p tsconfig.json
	npx --no-install eslint serving/web/static tests/js

js-test: js-setup
	node --test tests/js/

# Installs the Debian packages $(1) that are missing, with apt-get options $(2) (idempotent;
# sudo when not root).
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $(2) $$missing; \
	fi
endef

# What the service itself needs: WeasyPrint (POST /export/sheet, the PDF sheet) needs Pango,
# and the sheet and the Chinese page need a CJK font.
SERVE_PKGS := fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0
serve-deps:
	$(call apt_install,$(SERVE_PKGS))

# Debian's chromium drives the browser tests (no browser download by playwright);
# poppler-utils (pdftoppm) renders the PDF's pages to PNG in the tests.
BROWSER_PKGS := chromium poppler-utils
browser-deps: serve-deps
	$(call apt_install,$(BROWSER_PKGS))

# Debian's PostgreSQL server: the test suite starts a throwaway cluster in a temp directory
# (tests/pg.py) to run the recommendation log against a real server as well as SQLite.
POSTGRES_PKGS := postgresql
postgres-deps:
	$(call apt_install,$(POSTGRES_PKGS),--no-install-recommends)

# Builds the default model from synthetic history when no champion is registered.
model: setup
	$(BIN)/capacity ensure-model

serve: setup serve-deps model
	BENTOML_DO_NOT_TRACK=True MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true $(BIN)/python -m bentoml serve serving.service:CapacityService --host $(HOST) --port $(PORT)

lint: setup lock-check js-lint
	$(BIN)/ruff check features training serving tests benchmarks tools
	$(BIN)/ruff format --check features training serving tests benchmarks tools
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix features training serving tests benchmarks tools
	$(BIN)/ruff format features training serving tests benchmarks tools

test: setup browser-deps postgres-deps lint js-test
	$(BIN)/python -m pytest -q

# The edit loop (under 2 minutes on 2 cores): no real server (`live`), no browser, nothing
# `slow` (full-model training, notebooks, Dask, the bento build); no lint, no apt packages
# (PostgreSQL-backed tests skip with the reason where it is not installed). `make test`
# runs everything; tests/server_process.py refuses to start a server for a test not marked
# live, so this lane cannot silently grow one.
FAST_MARKERS := not live and not browser and not slow
test-fast: setup
	$(BIN)/python -m pytest -q -m "$(FAST_MARKERS)"

# Executes every notebook with papermill on the champion and its holdout (or on
# NB_PARAMS, e.g. NB_PARAMS="-p customers my/customers.csv -p equipment my/equipment.csv
# -p model 3") and renders each to HTML in NB_OUT.
NB_OUT ?= $(or $(CAPACITY_HOME),var)/notebooks
NB_PARAMS ?=
# Reports open offline: no MathJax or require.js from a CDN (the notebooks use neither).
NB_HTML_OFFLINE := --HTMLExporter.mathjax_url="" --HTMLExporter.require_js_url=""
notebooks: setup model
	mkdir -p $(NB_OUT)
	for nb in notebooks/*.ipynb; do \
	  name=$$(basename $$nb .ipynb); \
	  MLFLOW_DISABLE_TELEMETRY=true $(BIN)/papermill $$nb $(NB_OUT)/$$name.ipynb -k python3 \
	    --cwd $(NB_OUT) --no-progress-bar $(NB_PARAMS) || exit 1; \
	  $(BIN)/jupyter nbconvert --to html --log-level ERROR $(NB_HTML_OFFLINE) $(NB_OUT)/$$name.ipynb || exit 1; \
	done
	@echo "reports: $(NB_OUT)/*.html"

# The daily check of the recommendation log against the champion (exit 1 on an alert).
monitor: setup
	$(BIN)/capacity monitor

bench: setup model
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .mypy_cache .ruff_cache node_modules
