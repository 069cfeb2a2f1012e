# Everything a fresh clone needs: `make demo` runs a DR drill in the sandbox,
# `make test` runs the test suite. Both create .venv and install drorch first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test scale chaos fuzz lint format clean lambda-layer

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

# The chaos suite: named fault and bad-input scenarios, each asserting the end state.
chaos: $(BIN)/.installed
	$(BIN)/python -m pytest -m chaos -q -n 2 tests/chaos

# The long fuzz run: no CLI command exits 3 (DRORCH_FUZZ_MINUTES, default 10).
fuzz: $(BIN)/.installed
	DRORCH_FUZZ_MINUTES=$${DRORCH_FUZZ_MINUTES:-10} $(BIN)/python -m pytest -m chaos -q -s \
		tests/chaos/test_fuzz_long.py

lint: $(BIN)/.installed
	$(BIN)/ruff check runtime stacks tests __main__.py
	$(BIN)/ruff format --check runtime stacks tests __main__.py

format: $(BIN)/.installed
	$(BIN)/ruff format runtime stacks tests __main__.py
	$(BIN)/ruff check --fix runtime stacks tests __main__.py

# The Lambda functions' dependencies, as the folder the hub stack publishes as a layer
# (drorch:lambdaLayerDir, default build/lambda-layer): Linux x86_64 wheels for Python 3.12.
LAYER_DIR ?= build/lambda-layer
lambda-layer: $(BIN)/.installed
	rm -rf $(LAYER_DIR)
	$(BIN)/python -m pip install --quiet --target $(LAYER_DIR)/python \
		--platform manylinux2014_x86_64 --implementation cp --python-version 3.12 \
		--only-binary=:all: --upgrade \
		"boto3>=1.40" "aws-lambda-powertools[tracer]>=3,<4" "jsonschema>=4.20" "PyYAML>=6.0"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build
