# The two commands a newcomer needs: `make demo` and `make test`. CI runs `make test` too.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: demo test lint install pdf browser clean

# A stamp per dependency set: re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Pango and a font for WeasyPrint (the signed contracts' PDF), from Debian.
pdf:
	@dpkg -s libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1 || { \
	  echo "Installing Pango and DejaVu fonts from Debian for the PDF documents"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; }

# Chromium for the browser tests, from Debian (Playwright's own download is not reachable),
# with its French language pack so that date fields read jj/mm/aaaa in the screenshots.
browser:
	@dpkg -s chromium chromium-l10n >/dev/null 2>&1 || { \
	  echo "Installing Chromium from Debian for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-l10n >/dev/null; }

demo: install pdf
	$(BIN)/python -m carnet.demo --port $(PORT)

# On PostgreSQL when DATABASE_URL points to one, else on a SQLite file.
test: install pdf browser
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
