# treadmill_ctl: everything a fresh machine needs goes through these targets.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all venv test lint typecheck pytest fuzz demo bench clean test-bluez bench-bluez bluez-guest

all: test

# The first Python >= 3.12 found: python3.13, python3.12, python3, then pyenv's versions.
FIND_PYTHON := for c in python3.13 python3.12 python3 \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.*/bin/python3 2>/dev/null | sort -rV); do \
	  if $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then echo $$c; break; fi; \
	done

$(PY):
	@py=$$($(FIND_PYTHON)); \
	if [ -z "$$py" ]; then echo "error: no Python >= 3.12 found (tried python3.13, python3.12, python3, pyenv)" >&2; exit 1; fi; \
	echo "creating $(VENV) with $$py ($$($$py --version))"; \
	$$py -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(VENV)/bin/pytest -q

test: lint pytest
	@echo "make test: passed. It does not run the BlueZ end-to-end tests (a qemu guest; root): make test-bluez runs them."

# The property tests and state machines, long and random (tests/conftest.py's fuzz
# profile), for people who want to hunt; `make test` runs them derandomized.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(VENV)/bin/pytest -q -m property

# At real time, so that the cues can be spoken and the keys tried (about 2 minutes).
# Ending it early (q, or a stop) is exit status 3: not a failure of the demo.
demo: $(STAMP)
	$(VENV)/bin/treadmill-ctl run profiles/demo.toml --simulator --speedup 1 --yes || [ $$? -eq 3 ]

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# The BlueZ tests: a qemu guest (software emulation) built from this machine's own
# kernel, busybox, bluez and dbus packages, with the host's root read-only over 9p.
# Results (junit.xml, logs, each test's record and trace) land in build/bluez-vm/results.
BLUEZ_VM := build/bluez-vm

bluez-guest: $(STAMP)
	@tests/bluez/vm/build-initramfs.sh $(BLUEZ_VM)

test-bluez: bluez-guest
	@tests/bluez/vm/run-vm.sh $(BLUEZ_VM) test

bench-bluez: bluez-guest
	@tests/bluez/vm/run-vm.sh $(BLUEZ_VM) bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build/bluez-vm
