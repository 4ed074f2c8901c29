# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench clean

$(STAMP): setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pretrain demo --output runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2 --durations=15

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -n 2

clean:
	rm -rf $(VENV) runs
