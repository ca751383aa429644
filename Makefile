# The two Quick start commands (`make run`, `make test`) create .venv on first use, so a fresh
# machine needs nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Paper Surfer needs Python 3.11 or newer (set PYTHON=...)" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/paper-surfer run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# About 25 minutes in all; each script prints a Markdown table (figures in bench/README.md).
bench: $(STAMP)
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/telegram.py
	$(BIN)/python bench/slack.py
	$(BIN)/python bench/crash.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
