# The two Quick start commands (`make run`, `make test`) create .venv on first use, so a fresh
# machine needs nothing but Python 3.11+ and make. `make run` installs what the bot needs and no
# more; `make test` adds the test tools, `make bench` the benchmarks' baseline (Biopython).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORPUS := bench/data/pubmed21n1298.xml.gz

.PHONY: run test lint bench bench-data clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Paper Surfer needs Python 3.11 or newer (set PYTHON=...)" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per set of extras: each is reinstalled when pyproject.toml changes.
$(VENV)/.stamp-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.stamp-run

$(VENV)/.stamp-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@ $(VENV)/.stamp-test $(VENV)/.stamp-run

run: $(VENV)/.stamp-run
	$(BIN)/paper-surfer run

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# The whole NLM daily update file the benchmarks read (40 MB, not in git): see bench/corpus.py.
$(CORPUS): | $(BIN)/python
	$(BIN)/python bench/corpus.py

bench-data: $(CORPUS)

# About 35 minutes in all; each script prints a Markdown table (figures in bench/README.md).
bench: $(VENV)/.stamp-bench $(CORPUS)
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/poll_day.py
	$(BIN)/python bench/telegram.py
	$(BIN)/python bench/slack.py
	$(BIN)/python bench/crash.py
	$(BIN)/python bench/delivery_pass.py
	$(BIN)/python bench/summaries.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
