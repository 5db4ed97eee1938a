# The project's vocabulary. `make run` and `make test` work on a fresh machine.
PYTHON ?= $(shell command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint fmt worker beat migrate messages translations serve bench demo-reset

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

.env:
	$(PYTHON) scripts/make_dev_env.py > $@

# From npm, pinned by package-lock.json: Chart.js for the operations dashboard's charts, and
# axe-core for the browser tests' accessibility checks. Without npm the dashboard shows its
# tables only and the accessibility tests skip and say why (they fail under CI=true).
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --ignore-scripts; \
	else \
		echo "npm not found: the accessibility checks will skip (install Node.js 20+)" >&2; \
	fi

# Chart.js's built file goes into our static files (static/vendor/, not in git), so that
# whitenoise serves it from our own origin under the strict Content-Security-Policy.
CHARTJS := static/vendor/chart.umd.min.js
$(CHARTJS): node_modules/.package-lock.json
	@if [ -f node_modules/chart.js/dist/chart.umd.min.js ]; then \
		mkdir -p static/vendor && \
		cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map \
			node_modules/chart.js/LICENSE.md static/vendor/ && touch $@; \
	fi

install: $(STAMP) .env node_modules/.package-lock.json $(CHARTJS)

# Where makemessages and compilemessages must not look: the virtualenv (Django's own
# catalogues), npm packages, build output, and the tests (not user-visible text).
I18N_IGNORE := --ignore .venv --ignore node_modules --ignore staticfiles --ignore test-artifacts \
	--ignore tests --ignore bench

# Refresh the Italian catalogue from the code and templates, then compile it. Translate every
# new entry in locale/it/LC_MESSAGES/django.po (tests/test_translations.py checks). The
# POT-Creation-Date line is dropped so that branches adding strings do not all conflict on it.
messages: install
	$(BIN)/python manage.py makemessages --locale it --no-obsolete --add-location file $(I18N_IGNORE)
	sed -i '/^"POT-Creation-Date: /d' locale/it/LC_MESSAGES/django.po
	$(BIN)/python manage.py compilemessages --locale it $(I18N_IGNORE)

# Compile the catalogues (the .mo files are build output, not in git).
translations: install
	@if command -v msgfmt >/dev/null 2>&1; then \
		$(BIN)/python manage.py compilemessages --verbosity 0 $(I18N_IGNORE); \
	else \
		echo "gettext is not installed: pages stay in English (apt-get install gettext)" >&2; \
	fi

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable

# Start the demo again: every demo parcel removed, today's made afresh (sign-ins stay).
demo-reset: migrate
	$(BIN)/python manage.py seed_demo --reset

# With CELERY_BROKER_URL set (shell or .env) a worker and beat run too; Ctrl-C stops all.
# seed_demo_history runs seed_demo, then (once) writes 30 days of history for the dashboard.
run: migrate translations
	$(BIN)/python manage.py seed_demo_history
	BIN=$(BIN) scripts/run-dev 127.0.0.1:8000

test: install
	scripts/ensure-system-packages
	$(MAKE) translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(BIN)/celery -A otpdelivery worker --loglevel=INFO

beat: install
	$(BIN)/celery -A otpdelivery beat --loglevel=INFO --schedule=.celerybeat-schedule

# Production mode on this machine: gunicorn (whitenoise, persistent database connections,
# JSON logs), a Celery worker and beat, from the Procfile. Needs CELERY_BROKER_URL and,
# for real use, DATABASE_URL pointing at PostgreSQL. See the README's Deployment section.
serve: install translations
	scripts/serve

# Figures for code entry, tracking, the day-end sweep and shipping against baselines, on
# stdout and in bench/results/. Needs PostgreSQL and Redis; not part of `make test` or CI.
bench: install
	$(BIN)/python bench/run.py
