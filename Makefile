# Kervan: `make run` serves the demo shop, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint format messages browser pdf-libs bench clean help

help:
	@echo "make run    install, migrate, load demo data and serve with Celery"
	@echo "make test   lint, migration check and the full test suite"
	@echo "make bench  load-test the storefront (writes bench/results/latest.json)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@ $(STAMP)

# Compiled with Babel (pure Python): a fresh machine needs no GNU gettext.
messages: $(STAMP)
	@if ls locale/*/LC_MESSAGES/django.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile --domain django --directory locale --statistics; fi

run: $(STAMP) messages pdf-libs
	TRUSTED_PROXIES=$${TRUSTED_PROXIES:-127.0.0.1/32,::1/128} $(BIN)/python manage.py run_shop

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shop catalog pricing shipping orders payments invoicing storefront integrations

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The browser tests drive Debian's Chromium: installed here when it is missing
# and apt-get may run; otherwise those tests are skipped and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "Installing Chromium for the browser tests..."; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null 2>&1 && \
			  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } || \
			echo "Chromium could not be installed: the browser tests will be skipped."; \
		else echo "Chromium is missing and cannot be installed: the browser tests will be skipped."; fi; }

# Invoice PDFs (WeasyPrint) need Pango and a font: installed here when missing and
# apt-get may run.
pdf-libs: $(STAMP)
	@$(BIN)/python -c "import weasyprint" >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "Installing Pango for invoice PDFs..."; \
			(apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core >/dev/null 2>&1) || \
			echo "Pango could not be installed: invoice PDFs will fail."; \
		else echo "WeasyPrint needs Pango (Debian: libpango-1.0-0 libpangoft2-1.0-0) for invoice PDFs."; fi; }

test: $(DEV_STAMP) lint messages browser pdf-libs
	DJANGO_SETTINGS_MODULE=shop.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest

bench: $(DEV_STAMP) messages
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .data staticfiles .pytest_cache .mypy_cache .ruff_cache
