# campaignctl: every task a developer or CI needs, from a fresh clone with only Python.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check lint typecheck imports bench faults clean schemas browser screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

## run: the controller on the example campaigns.d/ with the outbox provider (no account, no
## network): it ticks every 15 minutes and on every file change; Ctrl-C stops it.
## A new state gets 500 example credits so the first tick has something to send.
STATE ?= .campaignctl/state.db
CTL    = $(BIN)/campaignctl --dir campaigns.d --state $(STATE)
run: $(STAMP)
	$(CTL) validate
	@test -f $(STATE) || $(CTL) credits add 500 --note "example credits (make run)"
	env -u TWILIO_ACCOUNT_SID -u TWILIO_AUTH_TOKEN $(CTL) reconcile

## test: the whole suite (the dashboard's browser tests need Chromium: see `browser`)
test: $(STAMP) browser
	$(BIN)/python -m pytest

## browser: headless Chromium and its driver for the dashboard's browser tests: found on PATH,
## else installed with apt-get where this runs as root; else those tests skip, saying why.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium and chromium-driver (apt-get) for the browser tests"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver >/dev/null; } \
	  || echo "chromium did not install: the dashboard's browser tests will be skipped"; \
	else echo "no chromium and chromedriver here, and no apt-get as root: the dashboard's" \
	  "browser tests will be skipped"; fi

## screenshots: docs/dashboard.png (and docs/forecast.png where the forecast exists), of a
## demonstration state built by real applies, taken by headless Chromium
screenshots: $(STAMP) browser
	PYTHONPATH=. $(BIN)/python docs/screenshots.py docs

lint: $(STAMP)
	$(BIN)/ruff check src tests docs bench
	$(BIN)/ruff format --check src tests docs bench

typecheck: $(STAMP)
	$(BIN)/mypy

## imports: the layering contract in pyproject.toml ([tool.importlinter])
imports: $(STAMP)
	$(BIN)/lint-imports

## check: lint, types, the import contract and tests (what CI runs)
check: lint typecheck imports test

schemas: $(STAMP)
	$(BIN)/campaignctl schema export schemas

bench: $(STAMP)
	$(BIN)/python -m bench.run $(if $(ONLY),--only $(ONLY))

## faults: the fault-injection suite in full size (kill -9 of apply and reconcile 200 times,
## provider faults, a full disk, locked and damaged states, fuzzing); `make test` runs it
## reduced. Installs the atheris fuzzer when it can (its tests are skipped without it).
faults: $(STAMP)
	$(BIN)/python -m pip install --quiet atheris || echo "atheris did not install: its tests will be skipped"
	CAMPAIGNCTL_FAULTS=full $(BIN)/python -m pytest tests/faults --timeout=1800 -p no:cacheprovider

clean:
	rm -rf $(VENV) .campaignctl .pytest_cache .mypy_cache .ruff_cache
