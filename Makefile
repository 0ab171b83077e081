# The two commands a newcomer runs: `make demo` and `make test`. Both create .venv and install
# the project from pyproject.toml when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint app bench scale fuzz clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# Bytecode for the project's own modules: read even where PYTHONDONTWRITEBYTECODE is
	@# set, it saves every domlab command compiling them (13% of `domlab validate`).
	$(BIN)/python -m compileall -q sim rules reports >/dev/null
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/domlab compare scenarios/omnichannel.yaml scenarios/omnichannel_cost_first.yaml \
		--out out/demo --report out/demo/report

# ruff, then the layers contract in pyproject.toml ([tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo

# The whole suite, slow and browser tests included, on 2 pytest-xdist workers: about 1m20s
# instead of 2m15s on 2 cores. Each test file stays on one worker (module fixtures, the app's
# cache). `make test XDIST=` runs it in one process; `pytest -m "not slow"` skips the slowest.
XDIST ?= -n 2 --dist loadfile

test: $(STAMP) lint browser-deps
	$(BIN)/python -m pytest -q $(XDIST)

# The browser test drives Debian's Chromium (never `playwright install`): install it if missing.
.PHONY: browser-deps
browser-deps:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; \
	else echo "browser-deps: /usr/bin/chromium is missing; install it as root:" \
		"apt-get update && apt-get install -y chromium" >&2; exit 1; fi; \
	echo "browser-deps: installing Debian chromium for the browser test"; \
	$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

app: $(STAMP)
	$(BIN)/streamlit run app.py --browser.gatherUsageStats false

# Throughput against SimPy's own M/M/1 in the same run (orders/s over customers/s per
# backend), start-up of --help and validate, rule decisions/s and the 1M-fact differential
# run (~4 min), replications speed-up on 2 processes vs 1, and the 1M-order case (~1 min).
bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/rules_bench.py
	$(BIN)/python bench/experiments.py
	$(BIN)/python bench/scale.py

# The 1M-order case alone: one `domlab run` process over the default network with 10x demand
# and pickers for 65 days, event log off; prints wall time and peak RSS (targets < 60 s,
# < 2 GB).
scale: $(STAMP)
	$(BIN)/python bench/scale.py

# 1,000 generated scenario files and rule sets (valid, edge, hostile) through domlab run:
# prints cases, ok, refused, crashes, silent; exit 1 on any failure (~5 min).
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --cases 1000

clean:
	rm -rf out runs .pytest_cache .ruff_cache
