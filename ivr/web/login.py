"""GET/POST /login and POST /logout.

A failed login says only "wrong username or password", whatever was wrong, so the page
never tells whether a username exists or is disabled.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from datetime import datetime
from html import escape

from aiohttp import web

from ivr.db import web_sessions
from ivr.errors import LoginFailed, LoginThrottled
from ivr.web.auth import authenticate
from ivr.web.guard import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    current_session,
    delete_cookie,
    public,
    redirect,
    set_cookie,
)
from ivr.web.html import error_box, hidden_csrf, page
from ivr.web.state import ConsolePolicy, clock_key, db_key, hashing_key, policy_key

WRONG_CREDENTIALS = "用户名或密码错误。"


@public
async def login_form(request: web.Request) -> web.StreamResponse:
    """The login form, with a pre-session CSRF token in a cookie and in the form."""
    if current_session(request) is not None:
        return redirect("/")
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = login_page(token)
    secure = request.config_dict[policy_key].secure_cookies
    set_cookie(response, LOGIN_CSRF_COOKIE, token, secure=secure)
    return response


@public
async def login(request: web.Request) -> web.StreamResponse:
    """Check the credentials; on success open a session and go to the user's home page."""
    app = request.config_dict
    policy, db, now = app[policy_key], app[db_key], app[clock_key]()
    form = await request.post()
    username, password = _text(form, "username"), _text(form, "password")
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")  # checked by the session middleware
    try:
        user = await authenticate(
            db,
            username,
            password,
            client_ip=(request.remote or "unknown"),
            now=now,
            throttle=policy.throttle,
            hashing=app[hashing_key],
        )
    except LoginThrottled as exc:
        return _throttled(token, username, exc.retry_at, now, policy)
    except LoginFailed:
        return login_page(token, username, WRONG_CREDENTIALS, status=401)
    issued = await web_sessions.create_session(db, user, now=now, idle=policy.idle)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # a fresh token on every login: an old cookie must not stay valid
        await web_sessions.delete_session(db, previous)
    response = redirect("/", after_post=True)
    set_cookie(response, SESSION_COOKIE, issued.token, secure=policy.secure_cookies)
    delete_cookie(response, LOGIN_CSRF_COOKIE, secure=policy.secure_cookies)
    return response


@public
async def logout(request: web.Request) -> web.StreamResponse:
    """End the session (the CSRF check ran first) and go back to the login form."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await web_sessions.delete_session(request.config_dict[db_key], token)
    response = redirect("/login", after_post=True)
    delete_cookie(response, SESSION_COOKIE, secure=request.config_dict[policy_key].secure_cookies)
    return response


def login_page(token: str, username: str = "", error: str = "", status: int = 200) -> web.Response:
    """The login form, optionally with an error and the username typed before."""
    body = f"""{error_box(error)}
<form method="post" action="/login" autocomplete="on">
{hidden_csrf(token)}
<label for="username">用户名</label>
<input type="text" id="username" name="username" maxlength="64" required autofocus
 autocomplete="username" value="{_attr(username)}">
<label for="password">密码</label>
<input type="password" id="password" name="password" required autocomplete="current-password">
<button type="submit">登录</button>
</form>"""
    return page("坐席登录", body, status=status)


def _throttled(
    token: str, username: str, retry_at: datetime, now: datetime, policy: ConsolePolicy
) -> web.Response:
    local = retry_at.astimezone(policy.timezone)
    message = f"登录失败次数过多，请于 {local:%H:%M} 之后再试。"
    response = login_page(token, username, message, status=429)
    wait = max(1, math.ceil((retry_at - now).total_seconds()))
    response.headers["Retry-After"] = str(wait)
    return response


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _attr(value: str) -> str:
    return escape(value[:64])
