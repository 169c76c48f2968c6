"""The app factory and the console policy, without a database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from unittest.mock import MagicMock

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from ivr.db.models import Role
from ivr.errors import ConfigError
from ivr.settings import Settings
from ivr.web.app import make_app
from ivr.web.guard import access_of, require_role
from ivr.web.state import ConsolePolicy

Client = TestClient[web.Request, web.Application]


def test_every_route_says_who_may_use_it() -> None:
    """A handler that is neither `public` nor behind `require_role` is a hole."""
    app = make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy())
    unmarked = [
        route.resource.canonical if route.resource else repr(route)
        for route in app.router.routes()
        if access_of(route.handler) is None
    ]
    assert unmarked == []
    guarded = {
        route.resource.canonical: access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None
    }
    assert guarded["/agent"] == frozenset({Role.AGENT})
    assert guarded["/api/me"] == frozenset(Role)
    assert guarded["/login"] == guarded["/healthz"] == "public"


def test_require_role_without_roles_is_a_programming_error() -> None:
    """Bad input: `require_role()` with no role at all (it would admit nobody, silently)."""
    with pytest.raises(ValueError, match="at least one role"):
        require_role()


async def test_healthz_alone_when_no_database_is_given(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    client = await aiohttp_client(make_app(lambda: {"ami_logged_in": False}))
    response = await client.get("/healthz")
    assert response.status == 503 and await response.json() == {"ami_logged_in": False}
    assert response.headers["X-Frame-Options"] == "DENY"
    assert (await client.get("/login")).status == 404


def test_policy_follows_the_settings() -> None:
    settings = Settings(web_session_idle_hours=2.5, web_secure_cookies=True)
    policy = ConsolePolicy.from_settings(settings)
    assert policy.idle == timedelta(hours=2.5) and policy.secure_cookies
    assert ConsolePolicy.from_settings(Settings()).idle == timedelta(hours=12)
    assert not ConsolePolicy.from_settings(Settings()).secure_cookies


@pytest.mark.parametrize(("raw", "secure"), [("false", False), ("0", False), ("true", True)])
def test_secure_cookie_setting_from_the_environment_is_read_as_a_flag(
    raw: str, secure: bool
) -> None:
    """Bad input: IVR_WEB_SECURE_COOKIES=false arrives as text; it must not count as true."""
    settings = Settings(web_secure_cookies=raw)  # type: ignore[arg-type]
    assert ConsolePolicy.from_settings(settings).secure_cookies is secure


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"web_session_idle_hours": 0}, "web_session_idle_hours"),
        ({"web_session_idle_hours": -3}, "web_session_idle_hours"),
        ({"web_secure_cookies": "maybe"}, "web_secure_cookies"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_nonsense_console_settings_are_config_errors(
    changes: dict[str, object], message: str
) -> None:
    """Bad input: a zero or negative idle time, a non-boolean flag, an unknown time zone."""
    settings = Settings(**changes)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=message):
        ConsolePolicy.from_settings(settings)
