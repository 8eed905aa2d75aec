# Two commands do all the set-up on a fresh machine:
#   make demo   virtual environment + install + train on bundled Adult + generate + report
#   make test   the same environment plus dev tools, then lint, type checks and every test
#   make serve  the web app and REST API (synthdb serve) on http://127.0.0.1:8000
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
OUT := out

.PHONY: demo test lint typecheck unit clean serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, pinned: the CPU wheel. An unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet "torch==2.13.*"
	$(BIN)/pip install --quiet -e .
	touch $@

# The report tests open pages in Debian's Chromium, driven by Playwright (no browser download).
# The dev extra holds the ray extra too, so the Ray cluster tests run here and in CI.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	touch $@

$(VENV)/.installed-serve: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[serve]"
	touch $@

serve: $(VENV)/.installed-serve
	$(BIN)/synthdb serve --data-dir synthdb-data

demo: $(VENV)/.installed
	mkdir -p $(OUT)
	$(BIN)/synthdb run data/adult.csv.gz -o $(OUT)/adult_synthetic.csv \
		--model $(OUT)/adult.synthdb --report $(OUT)/adult_report.html \
		--json $(OUT)/adult_report.json --overwrite
	@echo "synthetic rows: $(OUT)/adult_synthetic.csv  model: $(OUT)/adult.synthdb  report: $(OUT)/adult_report.html"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) $(OUT) .mypy_cache .ruff_cache .pytest_cache
