# Two commands for a new user on a fresh Debian/Ubuntu machine (run as root or with sudo):
#   make demo   set up, start Asterisk 22 + the ivr server on SQLite, place a demo call
#   make test   set up, then lint, type-check and run the whole suite (real Asterisk included)

VENV ?= .venv
PY := $(VENV)/bin/python
CALLS ?= 1

.PHONY: setup system-deps venv demo test lint clean

# provisioning Asterisk (a minute the first time) happens here, not inside a test's timeout
setup: system-deps venv
	$(VENV)/bin/ivr asterisk provision

system-deps:
	scripts/install-system-deps

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

demo: setup
	CALLS=$(CALLS) scripts/demo

lint: venv
	$(VENV)/bin/ruff check ivr tests bench
	$(VENV)/bin/ruff format --check ivr tests bench
	$(VENV)/bin/mypy

# the whole suite (call flows on SQLite), then the call flows again on PostgreSQL
test: setup lint
	$(VENV)/bin/pytest -ra
	IVR_TEST_STACK_DATABASE=postgresql $(VENV)/bin/pytest -ra -m asterisk

clean:
	-$(VENV)/bin/ivr asterisk down
	rm -rf var recordings/calls recordings/sim
