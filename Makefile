# ClinicPACS: `make run` serves the clinic, `make test` runs the whole suite.
# Both create the virtual environment in .venv on first use, with exactly the versions in requirements.lock.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# pip itself, pinned: the venv's own pip (23.2 on Debian 12) mis-resolves a pinned package's extras under --require-hashes.
PIP_LOCK := requirements-pip.lock
# The lock: every package of the app and its tests, pinned with hashes, for any platform on Python 3.11+.
LOCK_ARGS := pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' --quiet

# pytest-xdist workers for `make test`, each test file whole on one worker (a module's served ClinicPACS starts once);
# every worker has its own databases and ports (tests/conftest.py), the longest files first (its HEAVY_FIRST).
# `make test PYTEST_WORKERS=0` runs serially.
PYTEST_WORKERS ?= 2

.PHONY: run test test-stress lint types format lock lock-check migration bench screenshots clean

run: $(STAMP)
	$(PY) main.py serve

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# `make test` three times in a row while tools/cpu_burner.py keeps every core busy (it stops with the target, on
# Ctrl-C, or by itself after STRESS_MAX_S); passes only at 3/3.
STRESS_MAX_S ?= 7200
test-stress: $(STAMP)
	@$(PY) tools/cpu_burner.py --max-seconds $(STRESS_MAX_S) & burner=$$!; \
	trap 'kill $$burner 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	passed=0; \
	for run in 1 2 3; do \
		echo "== test-stress: run $$run/3 with every core busy"; \
		if $(MAKE) --no-print-directory test; then passed=$$((passed + 1)); fi; \
	done; \
	kill $$burner 2>/dev/null; wait $$burner; \
	echo "$$passed/3 runs passed"; \
	test $$passed -eq 3

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

types: $(STAMP)
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Refresh the lock on purpose: the newest versions pyproject.toml allows today.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile $(LOCK_ARGS) --upgrade -o $(LOCK)

# Fails when pyproject.toml and the lock disagree (a dependency added, removed or re-ranged without `make lock`).
lock-check: $(STAMP)
	@tmp=$$(mktemp) && cp $(LOCK) $$tmp && \
	$(VENV)/bin/uv pip compile $(LOCK_ARGS) -o $$tmp && \
	if diff -u $(LOCK) $$tmp; then echo 'requirements.lock agrees with pyproject.toml'; rm -f $$tmp; \
	else echo 'requirements.lock disagrees with pyproject.toml: run `make lock` and commit both'; rm -f $$tmp; exit 1; fi

# Regenerate the initial Alembic migration from the models (only while nothing is released).
migration: $(STAMP)
	$(PY) -m migrations.regenerate

# Extract every message id from the code into locale/messages.pot and merge it into each language's .po file.
.PHONY: messages
messages: $(STAMP)
	$(PY) -c 'import logging; logging.basicConfig(level=logging.INFO, format="%(message)s"); \
		from ui.i18n import catalogue; catalogue.update()'

bench: $(STAMP)
	$(PY) bench/startup.py

# The README's pictures (docs/screenshots/), taken from a new demo clinic in headless chromium.
screenshots: $(STAMP)
	$(PY) tools/screenshots.py --language en

$(STAMP): $(LOCK) $(PIP_LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(PIP_LOCK)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	touch $(STAMP)

clean:
	rm -rf $(VENV) .ruff_cache .mypy_cache
