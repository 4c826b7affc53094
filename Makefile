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
WEB_NPM_HASH := $(call hash,web/package.json web/package-lock.json)
WEB_NPM_STAMP := $(STAMPS)/web-npm-$(WEB_NPM_HASH)

.PHONY: setup test demo down lint dev-up dev-status clean-stamps chromium

setup: $(PIP_STAMP) $(NPM_STAMP) $(WEB_NPM_STAMP) chromium
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

# The web clients (web/: overlay and dashboard) have their own packages; `dev up` builds them.
$(WEB_NPM_STAMP):
	cd web && npm ci --no-audit --no-fund
	@mkdir -p $(STAMPS) && rm -f $(STAMPS)/web-npm-* && touch $@

# Headless Chromium for the browser tests (tests/web). Installed only when missing, and only
# where apt-get can run as root; elsewhere those tests skip and say why.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      || echo "chromium could not be installed: browser tests will skip"; \
	  else echo "chromium missing (needs root + apt-get): browser tests will skip"; fi; \
	fi

# The `cloud` session fixture (tests/conftest.py) starts the local cloud on port base 9400
# and stops it when the session ends.
test: setup
	$(VPY) -m pytest $(PYTEST_ARGS)

# KEEP=1: leave the local cloud, overlay and dashboard running after the replay.
demo: setup
	$(VENV)/bin/giftengine demo $(if $(KEEP),--keep)

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
	$(VENV)/bin/ruff check functions devtools tests
	$(VENV)/bin/ruff format --check functions devtools tests

clean-stamps:
	rm -rf $(STAMPS)
