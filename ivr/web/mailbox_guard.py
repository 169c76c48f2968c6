"""What keeps abuse out of the public mailbox without a CAPTCHA, and how a refusal reads.

Each request is a `Visit`: the client address only as a keyed hash, the app's clock, the
form secret. A letter is refused, before anything is filed, when the address has sent
too many letters (or too many refused ones) within the hour, when the hidden honeypot
field is filled in, or when the signed form token is missing, forged, younger than
`mailbox_min_fill_seconds` or older than `TOKEN_MAX_AGE`. A refusal answers with the
status of its kind and a message in Chinese; one for too many requests says when to
come back, in words and in Retry-After.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from ivr.cases.letter import LetterRefused, Refusal
from ivr.db import mailbox
from ivr.db.calls import Sessions
from ivr.db.channel_models import PublicAction
from ivr.settings import Settings
from ivr.web import form_token
from ivr.web.form_token import TokenProblem
from ivr.web.guard import current_session
from ivr.web.mailbox_render import HONEYPOT, TOKEN_FIELD
from ivr.web.state import clock_key, db_key, policy_key, settings_key

log = structlog.get_logger(__name__)

PURPOSE = "mailbox"  # what the form tokens are signed for
TOKEN_MAX_AGE = timedelta(hours=4)
# refused letters an address may send per letter it may send, before it is refused outright
ATTEMPTS_PER_LETTER = 4
STATUS = {
    Refusal.MALFORMED: 400,
    Refusal.NOT_FOUND: 404,
    Refusal.DUPLICATE: 409,
    Refusal.TOO_LARGE: 413,
    Refusal.INVALID: 422,
    Refusal.THROTTLED: 429,
}
TOKEN_MESSAGES = {
    TokenProblem.MISSING: "表单不完整，请在本页核对内容后重新提交。",
    TokenProblem.FORGED: "表单校验未通过，请在本页核对内容后重新提交。",
    TokenProblem.TOO_FAST: "提交太快了，请核对内容后再点一次“提交来信”。",
    TokenProblem.EXPIRED: "表单打开太久已过期，请核对内容后重新提交。",
}
HONEYPOT_FILLED = "提交被拒绝：“请勿填写此项”一栏必须留空。"
# How a refused page is drawn: (the message, the HTTP status) → the page.
Render = Callable[[str, int], web.Response]


@dataclasses.dataclass(frozen=True)
class Visit:
    """One anonymous request: who (a keyed hash of the address), when, and the setup."""

    db: Sessions
    settings: Settings
    secret: bytes
    client_key: str
    now: datetime
    zone: ZoneInfo
    csrf: str  # a logged-in console user's CSRF token: the session middleware checks it


async def visit_of(request: web.Request) -> Visit:
    """Who asks, and when."""
    app = request.config_dict
    settings = app[settings_key]
    secret = await asyncio.to_thread(form_token.form_secret, settings)  # read once, cached
    session = current_session(request)
    return Visit(
        db=app[db_key],
        settings=settings,
        secret=secret,
        client_key=form_token.client_key(secret, request.remote),
        now=app[clock_key](),
        zone=app[policy_key].timezone,
        csrf=session.csrf_token if session is not None else "",
    )


def fresh_token(visit: Visit) -> str:
    """A form token issued now."""
    return form_token.issue(visit.secret, visit.now, PURPOSE)


async def posted(request: web.Request) -> dict[str, str]:
    """The submitted form's text fields; LetterRefused TOO_LARGE past the body limit."""
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge as exc:
        limit = request.client_max_size // 1024
        message = f"提交的内容过大（上限 {limit} KB），未能收到。请返回上一页删减内容后再提交。"
        raise LetterRefused(Refusal.TOO_LARGE, message) from exc
    return {name: value for name, value in form.items() if isinstance(value, str)}


async def refuse_if_flooding(visit: Visit) -> None:
    """LetterRefused THROTTLED when this address has sent, or tried, too much this hour."""
    # checked before anything else is looked at, so a flood writes no rows at all
    letters = visit.settings.mailbox_letters_per_hour
    limits = {
        (PublicAction.SUBMIT,): letters,
        (PublicAction.SUBMIT, PublicAction.REJECTED): letters * ATTEMPTS_PER_LETTER,
    }
    found = [
        await mailbox.retry_at(visit.db, visit.client_key, actions, limit, now=visit.now)
        for actions, limit in limits.items()
    ]
    retry_at = max((when for when in found if when is not None), default=None)
    if retry_at is not None:
        raise LetterRefused(Refusal.THROTTLED, "", retry_at=retry_at)


def check_form(visit: Visit, typed: Mapping[str, str]) -> None:
    """LetterRefused MALFORMED for a filled honeypot or a bad form token."""
    if typed.get(HONEYPOT):
        raise LetterRefused(Refusal.MALFORMED, HONEYPOT_FILLED)
    problem = form_token.token_problem(
        visit.secret,
        typed.get(TOKEN_FIELD, ""),
        visit.now,
        PURPOSE,
        min_age=timedelta(seconds=visit.settings.mailbox_min_fill_seconds),
        max_age=TOKEN_MAX_AGE,
    )
    if problem is not None:
        raise LetterRefused(Refusal.MALFORMED, TOKEN_MESSAGES[problem])


def answer(
    visit: Visit, refusal: LetterRefused, action: PublicAction, render: Render
) -> web.Response:
    """The refused page: its status, the message, and Retry-After when throttled."""
    # the key's start tells repeat visitors apart in the log without naming the address
    client = visit.client_key[:12]
    log.info("mailbox_refused", action=action.value, kind=refusal.kind.value, client=client)
    if refusal.retry_at is None:
        return render(str(refusal), STATUS[refusal.kind])
    doing = "查询" if action is PublicAction.QUERY else "提交"
    local = refusal.retry_at.astimezone(visit.zone)
    response = render(f"{doing}过于频繁，请于 {local:%H:%M} 之后再试。", STATUS[refusal.kind])
    wait = (refusal.retry_at - visit.now).total_seconds()
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response
