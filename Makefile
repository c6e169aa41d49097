# Amanat — two commands do everything on a fresh Debian machine:
#   make run    serve the app on the embedded default (SQLite + key file in ./instance)
#   make test   install what the tests need, then ruff, mypy and pytest
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Test processes (pytest-xdist): one per core; TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= auto
DEBIAN_PACKAGES := chromium chromium-driver softhsm2 opensc poppler-utils age wrk nginx \
  swift swift-proxy swift-object swift-container swift-account memcached
HOST ?= 127.0.0.1
PORT ?= 8000
ONLY ?=

.PHONY: run test lint typecheck pytest bench deps clean translations services services-down

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/amanat init --demo
	@echo ""
	@echo "Open http://localhost:$(PORT) in your browser."
	AMANAT_PUBLIC_BASE_URL=$${AMANAT_PUBLIC_BASE_URL:-http://localhost:$(PORT)} \
	  $(VENV)/bin/amanat run --host $(HOST) --port $(PORT)

# Debian packages the tests need: installed when missing and we are root; otherwise we say so.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages:$$missing (run 'sudo apt-get install$$missing')"; \
	  fi; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# axe-core for the accessibility tests in Chromium, at the version package-lock.json pins.
AXE := tests/e2e/node_modules/axe-core/axe.min.js
$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: the accessibility tests need it (Debian: apt-get install npm)"; exit 1; }
	npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
	touch $@

pytest: $(STAMP) deps $(AXE)
	@deploy/services up > /dev/null
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

test: $(STAMP) deps lint typecheck pytest

bench: $(STAMP)
	$(PY) -m bench $(if $(ONLY),--only $(ONLY),)

# PostgreSQL and Redis on this machine, started when down; prints the export lines to use them.
services:
	@deploy/services up

services-down:
	@deploy/services down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Translations: extract every user-facing string, merge into the catalogues, compile.
# Domain refusals are codes (web/messages.py ERRORS), so only the web's own calls are extracted.
BABEL_KEYWORDS := -k _ -k _l -k gettext -k lazy_gettext
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --omit-header \
	  -o web/translations/messages.pot .
	$(VENV)/bin/pybabel update -i web/translations/messages.pot -d web/translations -N --width=0
	$(VENV)/bin/pybabel compile -d web/translations
