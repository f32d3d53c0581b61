# Everything a fresh machine needs, from only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CONFIG ?= config/sim.yaml

INSYNC_VENV  := .venv-insync
INSYNC_STAMP := $(INSYNC_VENV)/.installed-stamp

.PHONY: test lint typecheck pytest run bench clean test-ib-insync docs soak

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# The whole check, as CI runs it: lint, types, the suite, and the IB adapter under ib_insync.
test: lint typecheck pytest test-ib-insync

lint: $(STAMP)
	$(BIN)/ruff check daemon tests benchmarks
	$(BIN)/ruff format --check daemon tests benchmarks
	$(BIN)/hadolint Dockerfile

# Strict types for the whole package (the core's purity is what matters most, but the
# runtime's asyncio code benefits as much).
typecheck: $(STAMP)
	$(BIN)/mypy daemon

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

run: $(STAMP)
	$(BIN)/alvh run --config $(CONFIG)

# The IB adapter's tests under ib_insync, which cannot share .venv with ib_async (both
# install a top-level eventkit): a venv of its own, without the dev extra.
$(INSYNC_STAMP): pyproject.toml
	$(PYTHON) -m venv $(INSYNC_VENV)
	$(INSYNC_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(INSYNC_VENV)/bin/python -m pip install --quiet -e ".[ib-insync]" "pytest>=8,<10" "hypothesis>=6.100,<7"
	@touch $(INSYNC_STAMP)

test-ib-insync: $(INSYNC_STAMP)
	$(INSYNC_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/ib

# docs/configuration.md from the config models (a test fails when it is out of date).
docs: $(STAMP)
	$(BIN)/python -m daemon.config_docs --write docs/configuration.md

bench: $(STAMP)
	$(BIN)/python benchmarks/pricing.py

# The reliability campaign's long version (fault matrix, kill -9 at random points) for
# SOAK_S seconds; its figures go to docs/reliability.md ("Campaign").
SOAK_S ?= 600
soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py --seconds $(SOAK_S) --write

clean:
	rm -rf $(VENV) $(INSYNC_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
