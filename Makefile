# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: setup serve test lint format model browser-deps bench clean notebooks monitor

# Idempotent: the stamp is rebuilt only when pyproject.toml changes.
setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

# Debian's chromium drives the browser tests (no browser download by playwright); a CJK
# font makes the Chinese page legible in the screenshots.
BROWSER_PKGS := chromium fonts-wqy-microhei
browser-deps:
	@missing=""; for p in $(BROWSER_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $$missing; \
	fi

# Builds the default model from synthetic history when no champion is registered.
model: setup
	$(BIN)/capacity ensure-model

serve: setup model
	BENTOML_DO_NOT_TRACK=True MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true $(BIN)/bentoml serve serving.service:CapacityService --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check features training serving tests benchmarks
	$(BIN)/ruff format --check features training serving tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix features training serving tests benchmarks
	$(BIN)/ruff format features training serving tests benchmarks

test: setup browser-deps lint
	$(BIN)/python -m pytest -q

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
	rm -rf $(VENV) var test-artifacts .pytest_cache .mypy_cache .ruff_cache
