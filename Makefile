# notaus – the two set-up commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HASH   := $(shell sha1sum pyproject.toml | cut -c1-12)
RUN_STAMP  := $(VENV)/.run-$(HASH)
TEST_STAMP := $(VENV)/.test-$(HASH)

.PHONY: install test-install run test lint unit lab bench constraints clean

# what running notaus needs: a venv with the package and its runtime dependencies (as root, python3-venv
# from apt where it is missing) – no test tooling
$(RUN_STAMP): pyproject.toml
	@test -x $(BIN)/python || { PYTHON=$(PYTHON) sh deploy/run-deps.sh && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@rm -f $(VENV)/.run-* $(VENV)/.test-* $(VENV)/.installed-*
	@touch $@

# and what the tests need on top: the [test] extras; as root the Debian packages of deploy/test-deps.sh
$(TEST_STAMP): $(RUN_STAMP)
	@sh deploy/test-deps.sh
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(RUN_STAMP)
test-install: $(TEST_STAMP)

## run: start notaus on the simulated demo practice (web UI on http://127.0.0.1:8080)
run: install
	$(BIN)/notaus --config policies/demo.yaml serve --with-simulator

## test: lint, type-check, unit tests and (as root) the network-lab tests
test: test-install
	$(BIN)/ruff check .
	@# mypy names modules by path: a hard-linked tree shows the folders under their installed names (notaus.*)
	@rm -rf .typecheck && mkdir -p .typecheck/notaus && cp -al controller drivers policies api .typecheck/notaus/
	MYPYPATH=.typecheck $(BIN)/mypy --explicit-package-bases .typecheck/notaus tests bench
	$(BIN)/python -m pytest

unit: test-install
	$(BIN)/python -m pytest -m "not lab"

lab: test-install
	$(BIN)/python -m pytest tests/lab

## bench: speed and memory figures, each beside a baseline measured in the same run
bench: test-install
	$(BIN)/python bench/run_all.py

## constraints: re-pin the versions a practice box installs (deploy/constraints.txt) from a fresh venv
constraints:
	rm -rf .venv-constraints && $(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install --quiet .
	{ sed -n '1,2p' deploy/constraints.txt; .venv-constraints/bin/pip freeze --exclude notaus; } > deploy/constraints.new
	mv deploy/constraints.new deploy/constraints.txt && rm -rf .venv-constraints

clean:
	rm -rf $(VENV) var test-artifacts bench-results .pytest_cache .mypy_cache .ruff_cache .typecheck .hypothesis *.egg-info
