# Two commands do all set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run chat test check index eval clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: set up, check the knowledge base, start the advisor (CLI chat until the web server lands)
run: $(STAMP)
	$(VENV)/bin/finadvisor kb check
	$(VENV)/bin/finadvisor chat

chat: $(STAMP)
	$(VENV)/bin/finadvisor chat

## test: set up, then the whole suite
test: $(STAMP)
	$(VENV)/bin/pytest

## check: lint, types, tests
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) .finadvisor
