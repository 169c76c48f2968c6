"""What keeps abuse out of the public mailbox without a CAPTCHA, and how a refusal reads.

Each request is a `Visit`: the client address only as a keyed hash, the app's clock, the
form secret. A POST the browser says comes from a page of another site is refused (403)
before its body is read. A letter is refused, before anything is filed, when its body
cannot be read, when the address has sent too many letters (or too many refused ones)
within the hour, when the hidden honeypot field is filled in, or when the signed form
token is missing, forged, handed to another address, younger than
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
from ivr.web.origin import is_own_site
from ivr.web.state import clock_key, db_key, policy_key, settings_key

log = structlog.get_logger(__name__)

PURPOSE = "mailbox"  # what the form tokens are signed for
TOKEN_MAX_AGE = timedelta(hours=4)
# refused letters an address may send per letter it may send, before it is refused outright
ATTEMPTS_PER_LETTER = 4
STATUS = {
    Refusal.MALFORMED: 400,
    Refusal.FOREIGN: 403,
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
UNREADABLE = "提交的内容无法读取（编码或格式有误），未能收到。请在本页重新填写后提交。"
FOREIGN_PAGE = "提交被拒绝：它来自其他网站的页面。请直接打开本站的市长信箱页面填写和提交。"
# Refusals that write no row: a flood stays rowless, and a page elsewhere posting from its
# visitors' browsers must not use up their limits.
UNCOUNTED = frozenset({Refusal.THROTTLED, Refusal.FOREIGN})
# What Sec-Fetch-Site says of a request the site's own page (or the user) made.
OWN_FETCH_SITES = frozenset({"same-origin", "none"})
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
    return form_token.issue(visit.secret, visit.now, PURPOSE, visit.client_key)


def refuse_cross_site(request: web.Request) -> None:
    """LetterRefused FOREIGN when the browser says a page of another site sent the POST."""
    # Clients that send neither header (scripts, old browsers) pass: the form token, bound
    # to the address it was handed to, and the limits still hold them.
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in OWN_FETCH_SITES:
        raise LetterRefused(Refusal.FOREIGN, FOREIGN_PAGE)
    origin = request.headers.get("Origin")
    # "null": our pages are sent with Referrer-Policy no-referrer, and browsers then post
    # their forms with Origin null (Sec-Fetch-Site, checked above, still names the site)
    if origin is None or origin == "null":
        return
    if not is_own_site(request, origin):
        raise LetterRefused(Refusal.FOREIGN, FOREIGN_PAGE)


async def posted(request: web.Request) -> dict[str, str]:
    """The submitted form's text fields; LetterRefused TOO_LARGE past the body limit,
    MALFORMED for a body that cannot be read."""
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge as exc:
        limit = request.client_max_size // 1024
        message = f"提交的内容过大（上限 {limit} KB），未能收到。请返回上一页删减内容后再提交。"
        raise LetterRefused(Refusal.TOO_LARGE, message) from exc
    except (ValueError, LookupError) as exc:
        # ValueError: a broken multipart body, or bytes that are not the charset's (a
        # UnicodeDecodeError); LookupError: a charset= no codec is known for
        raise LetterRefused(Refusal.MALFORMED, UNREADABLE) from exc
    return {name: value for name, value in form.items() if isinstance(value, str)}


def letter_limits(settings: Settings) -> mailbox.Limits:
    """How many letters, and letters or refused ones, an address may send in the hour."""
    letters = settings.mailbox_letters_per_hour
    return {
        (PublicAction.SUBMIT,): letters,
        (PublicAction.SUBMIT, PublicAction.REJECTED): letters * ATTEMPTS_PER_LETTER,
    }


async def refuse_if_flooding(visit: Visit) -> None:
    """LetterRefused THROTTLED when this address has sent, or tried, too much this hour."""
    # checked before anything else is looked at, so a flood writes no rows at all
    limits = letter_limits(visit.settings)
    retry_at = await mailbox.retry_at(visit.db, visit.client_key, limits, now=visit.now)
    if retry_at is not None:
        raise LetterRefused(Refusal.THROTTLED, "", retry_at=retry_at)


async def reserve(visit: Visit) -> int:
    """Count a letter of this address before its costly part; LetterRefused THROTTLED."""
    limits = letter_limits(visit.settings)
    return await mailbox.reserve_letter(visit.db, visit.client_key, limits, at=visit.now)


def check_form(visit: Visit, typed: Mapping[str, str]) -> None:
    """LetterRefused MALFORMED for a filled honeypot or a bad form token."""
    if typed.get(HONEYPOT):
        raise LetterRefused(Refusal.MALFORMED, HONEYPOT_FILLED)
    problem = form_token.token_problem(
        visit.secret,
        typed.get(TOKEN_FIELD, ""),
        visit.now,
        PURPOSE,
        visit.client_key,
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
