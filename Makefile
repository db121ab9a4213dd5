# Two commands do all set-up on a fresh machine (Python 3.11 + pip):
#   make run    create .venv, install, start the bot on the embedded default (web chat on 127.0.0.1)
#   make test   create .venv if needed, install, run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint eval eval-baseline kb-check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/htx-bot run

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

eval: $(STAMP)
	$(BIN)/htx-bot eval --baseline tests/eval/baseline.json

eval-baseline: $(STAMP)
	$(BIN)/htx-bot eval --baseline tests/eval/baseline.json --update-baseline

kb-check: $(STAMP)
	$(BIN)/htx-bot kb check

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
