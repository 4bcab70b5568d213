PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: install test test-slow test-server demo lint bench

$(STAMP): requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -rs -n 2 --dist loadfile

test-slow: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m slow

test-server: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m server -rs

demo: install
	$(BIN)/python cli.py demo

bench: install
	HF_HUB_OFFLINE=1 $(BIN)/python bench/eval_bench.py
