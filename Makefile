# Two commands for a fresh machine with Python 3.11+ and make: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: run test lint format bench clean browser docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the declared dependencies change.
$(VENV)/.installed-dev: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e '.[dev]'
	touch $@

run: $(VENV)/.installed-dev
	$(BIN)/substore serve

test: $(VENV)/.installed-dev browser
	$(BIN)/pytest

# The GraphiQL test drives Debian's chromium (playwright never downloads a browser).
# Installed when missing and we may (root, as CI is); otherwise that one test skips.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null; } || \
	  echo "chromium not installed: the GraphiQL browser test will be skipped"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench examples migrations docs/gen
	$(BIN)/ruff format --check src tests bench examples migrations docs/gen
	$(BIN)/mypy src

format: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests bench examples migrations docs/gen
	$(BIN)/ruff check --fix src tests bench examples migrations docs/gen

# The documentation site into site/: the reference pages are generated from the code first,
# and --strict fails the build on a broken link or a page missing from the nav.
docs: $(VENV)/.installed-dev
	$(BIN)/python docs/gen/reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/normalize.py
	$(BIN)/python bench/upsert.py
	$(BIN)/python bench/lookup.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/export.py

clean:
	rm -rf $(VENV) .substore .pytest_cache .hypothesis .mypy_cache site docs/reference
