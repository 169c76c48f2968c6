"""Who is asking and may they: the session middleware, CSRF checks and `require_role`.

The middleware loads the session once per request. Every state-changing request made with
a session must carry that session's CSRF token (form field `csrf_token` or header
`X-CSRF-Token`); the login form, made before there is a session, carries the token of a
pre-session cookie instead (double submit). A request without a session has no ambient
authority to abuse, so it goes on to its handler, which refuses it (401 or /login).
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypedDict

from aiohttp import web

from ivr.db import web_sessions
from ivr.db.models import Role
from ivr.db.web_sessions import SessionView
from ivr.web.state import clock_key, db_key, policy_key, session_key

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "ivr_session"
LOGIN_CSRF_COOKIE = "ivr_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLE_LABELS = {
    Role.AGENT: "话务员",
    Role.OFFICE: "热线办",
    Role.DEPARTMENT: "承办单位",
    Role.LEADER: "值班领导",
}
# Markers on handlers, so a test can prove that every route says who may use it.
ROLES_ATTRIBUTE = "ivr_required_roles"
PUBLIC_ATTRIBUTE = "ivr_public"


def is_api(request: web.Request) -> bool:
    """Whether the request is for the JSON API or a WebSocket (errors as JSON, 401 instead
    of a redirect to the login page)."""
    return request.path == "/api" or request.path.startswith(("/api/", "/ws/"))


def current_session(request: web.Request) -> SessionView | None:
    """The session the middleware found for this request, if any."""
    return request.get(session_key)


def logged_in(request: web.Request) -> SessionView:
    """The session of a request that `require_role` has let through."""
    session = current_session(request)
    if session is None:  # only reachable from a handler someone forgot to guard
        raise web.HTTPUnauthorized(text="not logged in")
    return session


class Signed(TypedDict):
    """Who makes a change and when: the `actor=` and `at=` of its audit entry."""

    actor: str
    at: datetime


def signed(request: web.Request) -> Signed:
    """The logged-in user and the app's clock now, to pass on as `**signed(request)`."""
    return Signed(actor=logged_in(request).user.username, at=request.config_dict[clock_key]())


def set_cookie(response: web.StreamResponse, name: str, value: str, *, secure: bool) -> None:
    """Set a cookie scripts cannot read and other sites never send."""
    response.set_cookie(name, value, path="/", httponly=True, samesite="Strict", secure=secure)


def delete_cookie(response: web.StreamResponse, name: str, *, secure: bool) -> None:
    """Expire a cookie set by `set_cookie`."""
    response.del_cookie(name, path="/", httponly=True, samesite="Strict", secure=secure)


def redirect(location: str, *, after_post: bool = False) -> web.Response:
    """A 302, or after a form POST a 303 See Other (which a browser follows with GET)."""
    return web.Response(status=303 if after_post else 302, headers={"Location": location})


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the session, then refuse an unsafe request whose CSRF token is missing or wrong."""
    request[session_key] = await _load_session(request)
    if request.method not in SAFE_METHODS:
        expected = _expected_csrf(request)
        if expected is not None and not _same(expected, await _given_csrf(request)):
            raise web.HTTPForbidden(text="CSRF token missing or wrong")
    return await handler(request)


async def _load_session(request: web.Request) -> SessionView | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    app = request.config_dict
    now, idle = app[clock_key](), app[policy_key].idle
    return await web_sessions.resolve_session(app[db_key], token, now=now, idle=idle)


def _expected_csrf(request: web.Request) -> str | None:
    if request.path == LOGIN_PATH:
        # An absent cookie must still fail the check, never skip it.
        return request.cookies.get(LOGIN_CSRF_COOKIE, "")
    session = current_session(request)
    return None if session is None else session.csrf_token


async def _given_csrf(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            value = (await request.post()).get(CSRF_FIELD)
        except (ValueError, LookupError):  # bad UTF-8, an unknown charset, broken multipart
            return ""  # unreadable: no token, so the request is refused (403), not a 500
        return value if isinstance(value, str) else ""
    return ""


def _same(expected: str, given: str) -> bool:
    # Constant-time, and an empty expected token (no cookie) never matches.
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def require_role(*roles: Role) -> Callable[[Handler], Handler]:
    """Let only logged-in users with one of `roles` through (401/login redirect, else 403)."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    allowed = frozenset(roles)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            session = current_session(request)
            if session is None:
                if is_api(request):
                    raise web.HTTPUnauthorized(text="not logged in")
                raise web.HTTPFound(LOGIN_PATH)
            if session.user.role not in allowed:
                wanted = "、".join(ROLE_LABELS[role] for role in Role if role in allowed)
                raise web.HTTPForbidden(text=f"此功能仅限{wanted}使用")
            return await handler(request)

        setattr(guarded, ROLES_ATTRIBUTE, allowed)
        return guarded

    return decorate


def public(handler: Handler) -> Handler:
    """Mark a handler that anyone may call (login, health, the stylesheet)."""
    setattr(handler, PUBLIC_ATTRIBUTE, True)
    return handler


def access_of(handler: object) -> frozenset[Role] | str | None:
    """`public`, the roles a handler requires, or None when it was never marked."""
    if getattr(handler, PUBLIC_ATTRIBUTE, False):
        return "public"
    roles = getattr(handler, ROLES_ATTRIBUTE, None)
    return roles if isinstance(roles, frozenset) else None
