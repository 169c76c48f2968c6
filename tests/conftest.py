"""Fixtures shared by the suite: the real stack (tests/stack.py), databases
(tests/db_fixtures.py), headless Chromium (tests/browser.py) and the screen-pop desk
(tests/screen_pop_fixtures.py)."""

pytest_plugins = [
    "tests.stack",
    "tests.db_fixtures",
    "tests.browser",
    "tests.screen_pop_fixtures",
]
