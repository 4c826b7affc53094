# giftengine developer tasks. Self-installing: on a clean clone `make test` installs everything
# it needs (Python venv, npm packages, Cloud Tasks emulator venv, Firestore launcher jar).
# Each install step is skipped while the files it depends on are unchanged (stamp files under
# .giftengine/stamps are named after a hash of those files' contents).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMPS := .giftengine/stamps
PYTEST_ARGS ?=

hash = $(shell cat $(1) 2>/dev/null | sha256sum | cut -c1-16)
PIP_HASH := $(call hash,requirements-dev.txt functions/requirements.txt pyproject.toml)
NPM_HASH := $(call hash,package.json package-lock.json)
PIP_STAMP := $(STAMPS)/pip-$(PIP_HASH)
NPM_STAMP := $(STAMPS)/npm-$(NPM_HASH)

.PHONY: setup test demo down lint dev-up dev-status clean-stamps

setup: $(PIP_STAMP) $(NPM_STAMP)
	@$(VENV)/bin/giftengine dev setup

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

$(PIP_STAMP): | $(VPY)
	$(VPY) -m pip install --quiet -r requirements-dev.txt
	$(VPY) -m pip install --quiet -e .
	@mkdir -p $(STAMPS) && rm -f $(STAMPS)/pip-* && touch $@

$(NPM_STAMP):
	npm ci --no-audit --no-fund
	@mkdir -p $(STAMPS) && rm -f $(STAMPS)/npm-* && touch $@

# The `cloud` session fixture (tests/conftest.py) starts the local cloud on port base 9400
# and stops it when the session ends.
test: setup
	$(VPY) -m pytest $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/giftengine demo

dev-up: setup
	$(VENV)/bin/giftengine dev up

dev-status:
	@$(VENV)/bin/giftengine dev status

down:
	@if [ -x $(VENV)/bin/giftengine ]; then \
	  $(VENV)/bin/giftengine dev down --state-dir .giftengine/dev; \
	  $(VENV)/bin/giftengine dev down --state-dir .giftengine/test; \
	fi

lint: $(PIP_STAMP)
	$(VENV)/bin/ruff check functions tests

clean-stamps:
	rm -rf $(STAMPS)
