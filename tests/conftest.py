"""Fixtures shared by the suite: the real stack lives in tests/stack.py, databases in
tests/db_fixtures.py."""

pytest_plugins = ["tests.stack", "tests.db_fixtures"]
