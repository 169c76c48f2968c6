"""Fixtures shared by the suite: the real stack (tests/stack.py), databases
(tests/db_fixtures.py) and headless Chromium (tests/browser.py)."""

pytest_plugins = ["tests.stack", "tests.db_fixtures", "tests.browser"]
