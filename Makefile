# The README's two commands are `make run` and `make test`; everything else is for developers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
# The whole dependency tree, runtime and dev, with hashes: `make install` installs exactly this.
LOCK := requirements.lock
# uv makes the lock (`make lock`); it is kept beside the venv's packages, not among them.
UV_VERSION := 0.13.9
UV := $(VENV)/uv-$(UV_VERSION)/bin/uv
# `make lock LOCK_ARGS=--upgrade` moves every unpinned package to its newest release; without
# it, the versions already locked are kept.
LOCK_ARGS ?=

export PORT

.PHONY: install lock run test test-fast lint bench bench-quick vendor collectstatic clean

install: $(STAMP)

# Reinstall only when the dependency list or the lock changes, so `make run` twice is quick.
# The project itself goes in without dependencies: the lock has them all.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After a change to the dependencies in pyproject.toml; then `make install`. One lock for every
# platform (--universal), from Python 3.11 up as pyproject.toml says; uv reads PyPI itself.
lock: $(UV)
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock UV_VERSION=$(UV_VERSION)" --quiet $(LOCK_ARGS) -o $(LOCK)

$(UV):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --target $(VENV)/uv-$(UV_VERSION) uv==$(UV_VERSION)

# collectstatic: the precompressed static files (config/static_storage.py), which
# config/asgi.py sends as nginx does; --nostatic leaves static files to it rather than to
# runserver's own handler. (A comment inside a recipe would be echoed as a command.)
run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py ensure_assistant "Simulator (Chat Completions)" \
		--protocol chat_completions --model gpt-4o --if-missing
	DEBUG=1 $(BIN)/python manage.py recover_runs --wait 0
	DEBUG=1 $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	DEBUG=1 $(BIN)/python manage.py runserver --nostatic $(HOST):$(PORT)

# Two pytest sessions at once (scripts/test.sh says why); with PYTEST_ARGS, one session.
test: install
	SECRET_KEY=test-only-secret-key PYTHON=$(BIN)/python bash scripts/test.sh $(PYTEST_ARGS)

test-fast: install
	SECRET_KEY=test-only-secret-key $(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

# A real model upstream: llama.cpp's server with SmolLM2-135M-Instruct, built once (~7 minutes)
# into ~/.cache/llama-server by scripts/local-model.sh.
.PHONY: test-real run-local-model
test-real: install
	bash scripts/local-model.sh install
	SECRET_KEY=test-only-secret-key $(BIN)/python -m pytest tests/real_model $(PYTEST_ARGS)

# The chat with the local model offered as an assistant ("Local model"), offline, in one command.
run-local-model: install
	bash scripts/local-model.sh install
	bash scripts/local-model.sh start 8765
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py ensure_assistant "Local model (SmolLM2)" \
		--protocol chat_completions --base-url http://127.0.0.1:8765/v1 \
		--model smollm2-135m-instruct --context-window 2048
	$(MAKE) run

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
