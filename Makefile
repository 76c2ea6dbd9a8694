# The two commands a new user needs: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE   := node_modules/.installed

export DJANGO_SETTINGS_MODULE := jdpop.settings

.PHONY: run test lint install browser messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Front-end packages (axe-core for the page tests) from the npm registry, never vendored:
# installed again only when node_modules is missing or package.json changed.
$(NODE): package.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js (apt-get install nodejs npm)"; exit 1; }
	npm install --no-audit --no-fund
	touch $(NODE)

install: $(STAMP) $(NODE)

# Development defaults for every command run by hand after `make run` (the environment wins).
.env:
	printf '# Written by make run: development defaults. The environment overrides them.\nDJANGO_DEBUG=1\n' > .env

## make run: install, migrate, load demo data, serve on http://127.0.0.1:8000 with worker + beat
run: export DJANGO_DEBUG ?= 1
run: .env $(STAMP) $(NODE)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty --shops 3 --requests 300
	@echo ""
	@echo "  jdpop is starting on http://127.0.0.1:8000"
	@echo "  demo logins (password jdpop-demo): merchant, consumer, arbitrator (admin: /admin/)"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## make test: lint, then the whole suite (SQLite by default; PostgreSQL when DATABASE_URL is set)
test: export DJANGO_DEBUG ?= 1
# On PostgreSQL the worker tests need the real broker: Redis, database 15, unless you say.
ifneq ($(DATABASE_URL),)
test: export CELERY_BROKER_URL ?= redis://127.0.0.1:6379/15
endif
test: $(STAMP) $(NODE) lint browser
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# The page tests drive Debian's Chromium (Playwright's own browser download is not used).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "install Debian's chromium (sudo apt-get install chromium)"; exit 1; fi; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## make messages: refresh the Chinese catalogue after changing strings (needs gettext)
messages: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=tests --ignore=bench --no-obsolete
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) var staticfiles node_modules
