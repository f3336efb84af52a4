# The whole set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow bench install migrate clean

$(STAMP): requirements.txt
	@sh scripts/system-deps.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/flask --app wsgi db upgrade

# Serve on $$PORT (default 5000) with the fake WeChat platform, an RQ worker and RQ's cron.
run: $(STAMP)
	$(BIN)/python -m backend.devserver

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# pytest exits 5 when nothing is marked slow: that is not a failure
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow; rc=$$?; if [ $$rc = 5 ]; then exit 0; else exit $$rc; fi

bench: $(STAMP)
	@WITH_BENCH=1 sh scripts/system-deps.sh
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance/*.db instance/files
