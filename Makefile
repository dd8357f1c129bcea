# Two commands from a fresh clone: `make demo` and `make test`. Each creates .venv if it is missing.
# pywb (replay) lives in .venv-pywb: it pins libraries the crawler cannot share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYWB_VENV := .venv-pywb
PYWB_STAMP := $(PYWB_VENV)/.installed-stamp
# The benchmark's peers: scrapy-webarchive pins an older Scrapy, so it gets a virtualenv of its own.
PEERS_VENV := .venv-peers
PEERS_STAMP := $(PEERS_VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
BENCH_ARGS ?=

# The real consumers the tests hand our output to, besides the Python ones: Debian's Chromium,
# ReplayWeb.page, and citation-js (CSL styles as Zotero-like tools render them), from npm.
CONSUMERS_DIR := .consumers
REPLAYWEBPAGE := replaywebpage@2.5.3
CITATION_JS := @citation-js/core@0.9.0 @citation-js/plugin-csl@0.9.0
CONSUMERS_STAMP := $(CONSUMERS_DIR)/.stamp-2

.PHONY: demo test test-fast lint bench clean services

# A virtualenv at $(1); on a Debian without python3-venv, install it first.
define make_venv
	@$(PYTHON) -m venv $(1) 2>/dev/null || { \
	  echo "python3 -m venv failed; installing Debian's python3-venv"; \
	  rm -rf $(1); \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && \
	  $(PYTHON) -m venv $(1); }
endef

$(BIN)/python:
	$(call make_venv,$(VENV))

$(STAMP): $(BIN)/python pyproject.toml setup.py stablecopy-warcio.pth
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@# An editable install leaves out files outside the package; a wheel carries this one (setup.py).
	cp stablecopy-warcio.pth "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
	@touch $(STAMP)

$(PYWB_STAMP): stablecopy/replay/pywb-requirements.txt
	$(call make_venv,$(PYWB_VENV))
	$(PYWB_VENV)/bin/python -m pip install -q -r stablecopy/replay/pywb-requirements.txt
	@touch $(PYWB_STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	@touch $(BENCH_STAMP)

$(PEERS_STAMP): bench/peers/requirements.txt
	$(call make_venv,$(PEERS_VENV))
	$(PEERS_VENV)/bin/python -m pip install -q -r bench/peers/requirements.txt
	@touch $(PEERS_STAMP)

demo: $(STAMP)
	$(BIN)/python -m stablecopy.samplesite.demo

lint: $(STAMP)
	$(BIN)/ruff check stablecopy tests bench setup.py
	$(BIN)/ruff format --check stablecopy tests bench setup.py
	$(BIN)/mypy

# Both cores: xdist workers, each with its own servers and ports; a module's tests (and every test
# of the shared full crawl) stay on one worker, so module fixtures are made once.
PYTEST := STABLECOPY_PYWB_PYTHON=$(CURDIR)/$(PYWB_VENV)/bin/python $(BIN)/python -m pytest -n 2 --dist loadgroup --durations=10

# The whole suite with SQLite catalogues, then the tests marked `catalogue` again with PostgreSQL
# ones (a private server the tests start on a free loopback port, and stop). The shared-crawl tests
# start their own PostgreSQL and Redis too.
test: lint $(PYWB_STAMP) $(CONSUMERS_STAMP) services
	$(PYTEST)
	$(PYTEST) --catalogue=postgresql

# The inner loop: SQLite only, nothing that needs a PostgreSQL or Redis server, no lint.
test-fast: $(STAMP) $(PYWB_STAMP) $(CONSUMERS_STAMP)
	$(PYTEST) -m "not own_postgres"

# Chromium from Debian's packages when missing (Playwright's own download needs a CDN); the
# replaywebpage npm package unpacked (its ui.js and sw.js are all a page needs); citation-js.
$(CONSUMERS_STAMP):
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Chromium from Debian's packages"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi
	@command -v npm >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm; }
	rm -rf $(CONSUMERS_DIR) && mkdir -p $(CONSUMERS_DIR)
	cd $(CONSUMERS_DIR) && npm pack $(REPLAYWEBPAGE) --silent >/dev/null && tar xzf replaywebpage-*.tgz && mv package replaywebpage && rm replaywebpage-*.tgz
	cd $(CONSUMERS_DIR) && npm install --silent --no-audit --no-fund --prefix . $(CITATION_JS) >/dev/null
	@touch $(CONSUMERS_STAMP)

# PostgreSQL and Redis servers from Debian's packages, when missing (the tests run them themselves).
services:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then \
	  echo "installing PostgreSQL and Redis from Debian's packages"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql redis-server; \
	fi

# Speed against peers on a generated site served by nginx (installed from Debian if missing), and
# a shared crawl by 1, 2 and 4 workers on a private Redis (the `services` target); prints a table
# and writes it, with JSON and a chart, under bench/results/. Not part of `make test`.
bench: $(BENCH_STAMP) $(PEERS_STAMP) services
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
	  echo "installing nginx and wget from Debian's packages"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx wget; }
	STABLECOPY_BENCH_PEERS=$(CURDIR)/$(PEERS_VENV) $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(PYWB_VENV) $(PEERS_VENV) $(CONSUMERS_DIR) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
