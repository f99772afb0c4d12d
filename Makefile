# fedsim: `make run` opens the app, `make test` runs every test. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test bench bench-browser bench-load setup clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# Served with .streamlit/config.toml: no file watcher, 1 MB uploads, local favicon.
run: $(STAMP)
	$(BIN)/python -m streamlit run app.py --server.port $(PORT) --browser.gatherUsageStats false \
		--server.fileWatcherType none

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m bench

# One part of `make bench` alone: click -> chart in Chromium; N concurrent sessions (N=10 20 30).
bench-browser: $(STAMP)
	$(BIN)/python -m bench.browser_bench

bench-load: $(STAMP)
	$(BIN)/python -m bench.load_bench $(N)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
