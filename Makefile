# The two commands a newcomer runs: `make demo` and `make test`. Both create .venv and install
# the project from pyproject.toml when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint app bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/domlab compare scenarios/omnichannel.yaml scenarios/omnichannel_cost_first.yaml \
		--out out/demo --report out/demo/report

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

app: $(STAMP)
	$(BIN)/streamlit run app.py --browser.gatherUsageStats false

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf out runs .pytest_cache .ruff_cache
