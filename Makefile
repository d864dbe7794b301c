# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: setup serve test lint format model browser-deps bench clean

# Idempotent: the stamp is rebuilt only when pyproject.toml changes.
setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

# Debian's chromium drives the browser tests (no browser download by playwright); a CJK
# font makes the Chinese page legible in the screenshots and the exported PDF sheet.
# WeasyPrint (the PDF sheet) needs Pango; poppler-utils (pdftoppm) renders the PDF's pages
# to PNG in the tests.
BROWSER_PKGS := chromium fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 poppler-utils
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

bench: setup model
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .mypy_cache .ruff_cache
