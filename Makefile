# Everything a fresh clone needs: `make demo` runs a DR drill in the sandbox,
# `make test` runs the test suite. Both create .venv and install drorch first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test scale lint format clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/drorch demo

test: $(BIN)/.installed
	$(BIN)/ruff check runtime stacks tests __main__.py
	$(BIN)/python -m pytest -n auto -q

scale: $(BIN)/.installed
	$(BIN)/python -m pytest -m scale -q

lint: $(BIN)/.installed
	$(BIN)/ruff check runtime stacks tests __main__.py
	$(BIN)/ruff format --check runtime stacks tests __main__.py

format: $(BIN)/.installed
	$(BIN)/ruff format runtime stacks tests __main__.py
	$(BIN)/ruff check --fix runtime stacks tests __main__.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
