# sokyaku — the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint bench lock messages browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Runtime dependencies only (what `make demo` needs).
$(VENV)/.runtime: requirements.lock pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes --no-deps -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

# Runtime plus test, lint and type-check tools.
$(VENV)/.dev: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes --no-deps -r requirements-dev.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/sokyaku demo

# Browser tests drive Debian's Chromium and need a Japanese font (fonts-noto-cjk), or Japanese
# shows as boxes; install them when we can (root), otherwise those tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium not installed: browser tests will be skipped"; }
	@fc-list :lang=ja 2>/dev/null | grep -q "Noto Sans CJK" || \
		{ [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && apt-get install -y -qq fonts-noto-cjk >/dev/null) || \
		echo "fonts-noto-cjk not installed: Japanese may show as boxes in browser tests"; }

# The suite runs in one process per CPU (at most four): each has its own data dir, test
# database and Redis database (tests/settings.py); a module's tests stay in one process.
test: $(VENV)/.dev browser
	$(BIN)/pytest -n auto --maxprocesses=4 --dist loadscope

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks

# Re-resolve the lock files after editing pyproject.toml (needs `uv`).
lock:
	uv pip compile pyproject.toml requirements-build.in --generate-hashes --python-version 3.11 -q -o requirements.lock
	uv pip compile pyproject.toml requirements-build.in --extra dev --generate-hashes --python-version 3.11 -q -o requirements-dev.lock

# Extract UI strings and compile the catalogues (needs GNU gettext).
messages: $(VENV)/.dev
	cd src/sokyaku && export SOKYAKU_DATA_DIR=$$(mktemp -d) && \
		../../$(BIN)/django-admin makemessages -l ja -l en --no-obsolete --settings=sokyaku.settings && \
		../../$(BIN)/django-admin compilemessages --settings=sokyaku.settings

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
