# The newcomer path: `make run` starts the hotline on the embedded default (SQLite, no tokens),
# `make test` runs the tests. Both create .venv when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run chat test lint check translations translations-compile bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

translations-compile: $(STAMP)
	$(BIN)/pybabel compile -d translations -D messages --statistics 2>&1 | grep -v '^compiling' || true
	$(BIN)/pybabel compile -d translations -D console -l ru --statistics 2>&1 | grep -v '^compiling' || true

run: $(STAMP) translations-compile
	$(BIN)/hotline serve

chat: $(STAMP) translations-compile
	$(BIN)/hotline chat

# Browser tests drive Debian's chromium (never a downloaded browser); installed here when we are root.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium is not installed: the browser tests will be skipped (apt-get install chromium)"; }

test: $(STAMP) translations-compile browser
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot handoff tests benchmarks
	$(BIN)/mypy bot handoff

check: $(STAMP)
	$(BIN)/hotline flows check flows

# Re-extract the bot's strings and merge them into the four catalogs (then translate what is new).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k Phrase:1,2 --no-location --omit-header -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations -D messages --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel extract -F babel_console.cfg --no-default-keywords -k L_ -k _ -k ngettext:1,2 --no-location \
	  --omit-header -o translations/console.pot .
	test -f translations/ru/LC_MESSAGES/console.po || \
	  $(BIN)/pybabel init -i translations/console.pot -d translations -D console -l ru
	$(BIN)/pybabel update -i translations/console.pot -d translations -D console -l ru --no-fuzzy-matching \
	  --ignore-obsolete
	$(MAKE) translations-compile

bench: $(STAMP)
	$(BIN)/python benchmarks/conversation.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
	find translations -name '*.mo' -delete
