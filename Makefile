# fedsim: `make run` opens the app, `make test` runs every test. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test bench bench-browser bench-load check-lessons setup clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# Up to 0.1 the distribution was called `fedsim`; it is `fedsim-playground` now.
	$(BIN)/python -m pip uninstall -q -y fedsim 2>/dev/null || true
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# The installed command's launcher (fedsim_app/launch.py), so both serve the same settings:
# fedsim_app/server/.streamlit/config.toml (no file watcher, 20 MB uploads, no usage statistics).
# Students on the same network: make run HOST=0.0.0.0
HOST ?= localhost
run: $(STAMP)
	$(BIN)/python -m fedsim_app --port $(PORT) --host $(HOST)

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m bench

# One part of `make bench` alone: click -> chart in Chromium; N concurrent sessions (N=10 20 30).
bench-browser: $(STAMP)
	$(BIN)/python -m bench.browser_bench

bench-load: $(STAMP)
	$(BIN)/python -m bench.load_bench $(N)

# Every lesson step run with the real engine for seeds 0-4: the measured values, the option
# they make right and whether the step's claim held (bench/check_lessons.py). Not in `make test`
# (tests/app/test_lessons_claims.py runs seeds 0 and 1).
SEEDS ?= 0 1 2 3 4
check-lessons: $(STAMP)
	$(BIN)/python -m bench.check_lessons --seeds $(SEEDS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
