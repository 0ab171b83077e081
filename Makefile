# The two commands a newcomer runs: `make demo` and `make test`. Both create .venv and install
# the project from pyproject.toml when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install native demo test lint app bench scale fuzz clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,native]'
	@# Bytecode for the project's own modules: read even where PYTHONDONTWRITEBYTECODE is
	@# set, it saves every domlab command compiling them (13% of `domlab validate`).
	$(BIN)/python -m compileall -q sim rules reports >/dev/null
	@touch $(STAMP)

# The model core's hot modules compiled to C by mypyc (sim/core/native.py): same results,
# faster runs. NATIVE=auto compiles when a C compiler is there, else runs stay pure Python;
# NATIVE=yes must compile (CI); NATIVE=no removes the compiled modules. Recompiled whenever
# one of these sources changes; an edited source makes every run use the sources until then.
NATIVE ?= auto
CORE_SOURCES := $(addprefix sim/core/,events.py records.py network.py inventory.py \
	decisions.py sourcing.py carrier.py fulfillment.py returns.py model.py native.py)
COMPILED := sim/core/_compiled.json
ifeq ($(NATIVE),no)
.PHONY: $(COMPILED)
endif

$(COMPILED): $(STAMP) $(CORE_SOURCES)
	@if [ "$(NATIVE)" = no ]; then $(BIN)/python -m sim.core clean; exit 0; fi; \
	if [ "$(NATIVE)" = auto ] && ! command -v cc >/dev/null 2>&1; then \
		echo "no C compiler: runs use the pure-Python model core (same results, slower)"; \
		exit 0; fi; \
	echo "compiling the model core with mypyc (about a minute; log in $(VENV)/native-build.log)"; \
	if $(BIN)/python -m sim.core build >$(VENV)/native-build.log 2>&1; then \
		tail -n 1 $(VENV)/native-build.log; \
	elif [ "$(NATIVE)" = yes ]; then tail -n 20 $(VENV)/native-build.log >&2; exit 1; \
	else tail -n 1 $(VENV)/native-build.log; \
		echo "runs use the pure-Python model core (same results, slower)"; fi

native: $(COMPILED)

install: $(STAMP) $(COMPILED)

demo: install
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

test: install lint browser-deps
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

app: install
	$(BIN)/streamlit run app.py --browser.gatherUsageStats false

# Throughput against SimPy's own M/M/1 in the same run (orders/s over customers/s per
# backend), start-up of --help and validate, rule decisions/s and the 1M-fact differential
# run (~4 min), replications speed-up on 2 processes vs 1, and the 1M-order case (~1 min).
bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/rules_bench.py
	$(BIN)/python bench/experiments.py
	$(BIN)/python bench/scale.py

# The 1M-order case alone: one `domlab run` process over the default network with 10x demand
# and pickers for 65 days, event log off; prints wall time and peak RSS (targets < 60 s,
# < 2 GB).
scale: install
	$(BIN)/python bench/scale.py

# 1,000 generated scenario files and rule sets (valid, edge, hostile) through domlab run:
# prints cases, ok, refused, crashes, silent; exit 1 on any failure (~5 min).
fuzz: install
	$(BIN)/python -m tests.fuzz --cases 1000

clean:
	rm -rf out runs .pytest_cache .ruff_cache
	test ! -x $(BIN)/python || $(BIN)/python -m sim.core clean
