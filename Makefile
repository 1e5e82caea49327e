# Two commands do all set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run chat test test-fast check lint system-deps eval bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: set up, check the knowledge base, build the index, serve web chat + API on :8000
run: $(STAMP)
	$(VENV)/bin/finadvisor kb check
	$(VENV)/bin/finadvisor serve --host 127.0.0.1 --port 8000

## eval: quality figures on the project's own labelled sets
eval: $(STAMP)
	$(VENV)/bin/finadvisor eval retrieval
	$(VENV)/bin/finadvisor eval diagnosis
	$(VENV)/bin/finadvisor eval models

## bench: speed and memory figures (not tests)
bench: $(STAMP)
	$(VENV)/bin/python bench/bench_retrieval.py
	$(VENV)/bin/python bench/bench_turn.py

chat: $(STAMP)
	$(VENV)/bin/finadvisor chat

## system-deps: redis-server, chromium and CJK fonts for the tests (apt-get when missing)
system-deps:
	@bash scripts/system-deps.sh

## lint: ruff, ruff format and mypy strict (the house style)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## test: set up (Python and system packages), then lint, types and the whole suite
test: $(STAMP) system-deps lint
	$(VENV)/bin/pytest

## test-fast: the unit layer only (stages and components on a fake retriever, under a minute)
test-fast: $(STAMP)
	$(VENV)/bin/pytest tests/unit

## check: what CI runs; the same as test
check: test

clean:
	rm -rf $(VENV) .finadvisor
