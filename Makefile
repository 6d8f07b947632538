# Two commands on a fresh machine: `make demo` and `make test` (both build .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := build/demo

.PHONY: install test demo clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[db,data,test]'
	touch $@

test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python demo/fetch_data.py $(DEMO)/acs12.csv
	$(BIN)/confidata inspect $(DEMO)/acs12.csv --overwrite --explain
	$(BIN)/confidata convert $(DEMO)/acs12.csv $(DEMO)/acs12.sav --schema $(DEMO)/acs12.schema.json --overwrite
	$(BIN)/confidata inspect $(DEMO)/acs12.sav -o $(DEMO)/acs12-from-spss.schema.json --overwrite

clean:
	rm -rf $(VENV) build .pytest_cache
