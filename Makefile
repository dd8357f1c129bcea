# Two commands from a fresh clone: `make demo` and `make test`. Each creates .venv if it is missing.
# pywb (replay) lives in .venv-pywb: it pins libraries the crawler cannot share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYWB_VENV := .venv-pywb
PYWB_STAMP := $(PYWB_VENV)/.installed-stamp

.PHONY: demo test lint clean

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

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

$(PYWB_STAMP): stablecopy/replay/pywb-requirements.txt
	$(call make_venv,$(PYWB_VENV))
	$(PYWB_VENV)/bin/python -m pip install -q -r stablecopy/replay/pywb-requirements.txt
	@touch $(PYWB_STAMP)

demo: $(STAMP)
	$(BIN)/python -m stablecopy.samplesite.demo

lint: $(STAMP)
	$(BIN)/ruff check stablecopy tests
	$(BIN)/ruff format --check stablecopy tests
	$(BIN)/mypy

test: lint $(PYWB_STAMP)
	STABLECOPY_PYWB_PYTHON=$(CURDIR)/$(PYWB_VENV)/bin/python $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(PYWB_VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
