# The front door: `make run` (seeded demo) and `make test` (everything CI runs).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench soak venv lint format clean-demo messages

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

run: venv
	$(BIN)/python scripts/demo.py

test: venv
	bash scripts/test.sh

bench: venv
	$(BIN)/python bench/run.py

# The soak and fault battery: 15 minutes of load on the production topology while its
# parts fail (README "Soak and fault battery"); CI runs the 3-minute version in pytest.
soak: venv
	NGINX_PATH=$${NGINX_PATH:-/usr/sbin/nginx} $(BIN)/python -m tests.deploy.soak

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && APP_MODE=test $(BIN)/mypy .

# After changing a translatable string: refresh locale/es/.../django.po, then translate
# what it adds (tests/i18n/test_catalogue.py fails until every entry is translated).
messages: venv
	APP_MODE=test $(BIN)/python manage.py makemessages -l es --no-obsolete --no-location \
		--ignore='.venv/*' --ignore='var/*' --ignore='tests/*' --ignore='bench/*' \
		--ignore='deploy/*' --ignore='scripts/*'

format: venv
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

clean-demo:
	rm -rf var/pgdata var/outbox var/media var/log var/demo-secrets.env var/celerybeat-schedule*
