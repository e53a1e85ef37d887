# The README's two commands are `make run` and `make test`; everything else is for developers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

export PORT

.PHONY: install run test test-fast lint bench bench-quick vendor collectstatic clean

install: $(STAMP)

# Reinstall only when the dependency list changes, so `make run` twice is quick.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py recover_runs --wait 0
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	SECRET_KEY=test-only-secret-key $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	SECRET_KEY=test-only-secret-key $(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

# A real model upstream: llama.cpp's server with SmolLM2-135M-Instruct, built once (~7 minutes)
# into ~/.cache/llama-server by scripts/local-model.sh.
.PHONY: test-real run-local-model
test-real: install
	bash scripts/local-model.sh install
	SECRET_KEY=test-only-secret-key $(BIN)/python -m pytest tests/real_model $(PYTEST_ARGS)

run-local-model:
	bash scripts/local-model.sh install
	bash scripts/local-model.sh start 8765

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=lint-only $(BIN)/mypy assistants_proxy chat config

bench: install
	$(BIN)/python -m bench

bench-quick: install
	$(BIN)/python -m bench --quick

vendor:
	bash scripts/vendor-frontend.sh

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
