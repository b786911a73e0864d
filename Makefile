# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.emoscope-installed
DEMO_OUT ?= demo-out
# torch first, from the CPU build: a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: install demo test lint format system-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)" || $(PY) -m pip install -q torch
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests use: espeak-ng (synthetic speech), chromium (report and page tests).
system-deps:
	@command -v espeak-ng >/dev/null && command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq >/dev/null && apt-get install -y -qq espeak-ng chromium >/dev/null; \
	  else echo "note: install espeak-ng and chromium for the tests that need them (they skip otherwise)"; fi; }

demo: $(STAMP)
	$(BIN)/emoscope analyze samples/demo.flac -o $(DEMO_OUT) --overwrite --speakers auto \
	  --export html --export emotionml --export fhir --export csv
	@echo "Outputs in $(CURDIR)/$(DEMO_OUT)/:"
	@echo "  demo.json          the prediction document (emoscope.prediction/1; emoscope schema)"
	@echo "  demo.html          the readable report: open it in a browser"
	@echo "  demo.emotionml.xml, demo.fhir.json, demo.csv   exports for other systems"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

test: $(STAMP) system-deps lint
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache build src/*.egg-info
