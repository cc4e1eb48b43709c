# Two commands do all set-up on a fresh machine:
#   make run    the system's main job: Kafka, PostgreSQL, the three services and a storefront demo
#   make test   every test against a real Kafka broker and a real PostgreSQL
# Both create the virtualenv and start (then stop) whatever servers are not already running.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) scripts/stack.py
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install browser run test test-unit test-integration test-e2e screenshots faults fuzz bench compare loadgen lint stack-up stack-down stack-status schemas schemas-check lock clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

# The Node.js storefront and the AsyncAPI parser check: packages from the committed lock file.
# --ignore-scripts: none of them needs an install script (one would only report usage).
NODE_PACKAGES := storefront-js/node_modules/.installed
$(NODE_PACKAGES): storefront-js/package.json storefront-js/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js 20+) is needed for the storefront and contract tests"; exit 1; }
	cd storefront-js && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# The portal's browser tests drive Debian's Chromium through Playwright; no browser is ever downloaded.
# Another apt run (a second checkout's `make test`, unattended upgrades) holds dpkg's lock: wait for it.
CHROMIUM ?= /usr/bin/chromium
browser: ## install Debian's chromium for the browser tests when it is missing (needs root)
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the portal's browser tests"; \
	  apt-get -o DPkg::Lock::Timeout=300 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null; \
	else echo "make: $(CHROMIUM) is missing: install Debian's chromium package (apt-get install chromium) or set CHROMIUM=" >&2; exit 1; fi

install: $(VENV)/.installed $(NODE_PACKAGES) ## create the virtualenv and the Node packages with the pinned dependencies

run: $(VENV)/.installed ## run the stack, the three services and a storefront demo (Ctrl-C stops all)
	$(STACK) exec -- $(PY) -m devtools.demo $(DEMO_ARGS)

test: install browser ## run every test against real Kafka and PostgreSQL (started if needed)
	$(STACK) exec -- $(PY) -m pytest $(PYTEST_ARGS)

test-unit: install ## pure tests only: no servers needed (the contract tests included)
	$(PY) -m pytest tests/unit tests/contract $(PYTEST_ARGS)

test-integration: install ## tests against real Kafka and PostgreSQL
	$(STACK) exec -- $(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-e2e: install browser ## the services as processes against real Kafka and PostgreSQL
	$(STACK) exec -- $(PY) -m pytest tests/e2e $(PYTEST_ARGS)

screenshots: install browser ## the portal's browser tests, saving a screenshot of each page to docs/portal/
	PORTAL_SCREENSHOTS=docs/portal $(STACK) exec -- $(PY) -m pytest tests/e2e/portal/test_browser_pages.py $(PYTEST_ARGS)

faults: install ## the fault harness (own Kafka and PostgreSQL on FAULTS_KAFKA_PORT/FAULTS_PG_PORT): FAULT_ARGS="--orders 100000 --rate 400"
	$(PY) -m devtools.faults $(FAULT_ARGS)

FUZZ_ARGS ?= --per-consumer 10000
fuzz: install ## malformed records at every consumer (docs/fuzzing.md): FUZZ_ARGS="--per-consumer 2000 --seed 1"
	$(STACK) exec -- $(PY) -m devtools.fuzz $(FUZZ_ARGS)

BENCH_ARGS ?= --quick
bench: install ## the benchmarks (docs/benchmarks.md): BENCH_ARGS=--full for the documented sizes
	$(STACK) exec -- $(PY) -m bench.run $(BENCH_ARGS)

compare: install ## throughput of the working tree against a commit, taking turns: COMPARE_ARGS="main --rounds 3"
	$(STACK) exec -- $(PY) -m bench.compare $(COMPARE_ARGS)

LOADGEN_ARGS ?= --orders 5000 --rate 200
loadgen: install ## the storefront load generator (starts its own services; --external to drive running ones)
	$(STACK) exec -- $(PY) -m devtools.loadgen $(LOADGEN_ARGS)

lint: install ## ruff: lint and formatting of the Python code
	$(PY) -m ruff check .

stack-up: install ## start Kafka and PostgreSQL in the background (idempotent)
	$(STACK) up

stack-down: install ## stop them
	$(STACK) down

stack-status: install ## are they running?
	$(STACK) status

schemas: install ## regenerate the committed JSON Schemas and AsyncAPI document from the models
	$(PY) -m shared.contracts.generate

schemas-check: install ## fail if the committed schemas differ from the models
	$(PY) -m shared.contracts.generate --check

lock: ## re-pin the dependencies from pyproject.toml into requirements*.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e .
	{ echo '# Runtime dependencies, pinned. Regenerate with `make lock`.'; .lock-venv/bin/pip freeze --exclude-editable; } > requirements.lock
	.lock-venv/bin/pip install --quiet -e '.[test]'
	{ echo '# Test and development tools, on top of the runtime pins. Regenerate with `make lock`.'; echo '-r requirements.lock'; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v -i -F -x -f requirements.lock; } > requirements-dev.lock
	rm -rf .lock-venv

clean: ## stop the servers and delete their data, the virtualenv and caches
	-[ -x $(PY) ] && $(STACK) down
	rm -rf .stack $(VENV) .pytest_cache .hypothesis
