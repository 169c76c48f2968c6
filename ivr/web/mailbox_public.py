"""The public mailbox (市长信箱): a letter form and a progress query, open to anyone.

GET  /mailbox         the letter form, with a signed form token
POST /mailbox         201 the query code (shown once); the letter is a mailbox draft
GET  /mailbox/query   the query form
POST /mailbox/query   200 the letter's progress

No login and no CAPTCHA. Abuse is kept out by ivr.web.mailbox_guard (posts from other
sites' pages, honeypot, signed form token bound to the address, per-address limits counted
in the database by ivr.db.mailbox), the field checks of ivr.cases.letter, the app's 64 KiB
body limit, and refusing the same letter twice within the hour. A letter is counted
against its address's limit before it is classified, so a burst costs no more than the
limit allows. A refusal is a 4xx page saying in Chinese what is wrong, the form filled
with what was typed: 400 unreadable body, honeypot or token, 403 from another site, 404
unknown query code, 409 duplicate, 413 too large, 422 a bad field, 429 too many (with
Retry-After). Nothing is filed then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import structlog
from aiohttp import web

from ivr.cases import query_code
from ivr.cases.draft import CaseDraftSuggestion, case_draft
from ivr.cases.letter import Letter, LetterRefused, Refusal, read_letter
from ivr.cases.taxonomy import load_taxonomy
from ivr.db import mailbox
from ivr.db.channel_models import PublicAction
from ivr.db.mailbox import Progress
from ivr.web import mailbox_guard as guard
from ivr.web import mailbox_render as render
from ivr.web.guard import public
from ivr.web.mailbox_guard import Visit

log = structlog.get_logger(__name__)

BAD_CODE = "查询码应为 12 位字母和数字（如 ABCD-EFGH-JKMN），请核对后重新输入。"
UNKNOWN_CODE = "没有找到这个查询码对应的来信，请核对后重新输入。"


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the public mailbox."""
    router.add_get("/mailbox", letter_form)
    router.add_post("/mailbox", send_letter)
    router.add_get("/mailbox/query", query_form)
    router.add_post("/mailbox/query", query)


@public
async def letter_form(request: web.Request) -> web.StreamResponse:
    """The empty letter form."""
    visit = await guard.visit_of(request)
    return render.letter_page({}, token=guard.fresh_token(visit), csrf=visit.csrf)


@public
async def send_letter(request: web.Request) -> web.StreamResponse:
    """File a letter as a draft and show its query code, or say why it is refused."""
    visit = await guard.visit_of(request)
    typed: dict[str, str] = {}
    reserved: int | None = None
    try:
        guard.refuse_cross_site(request)
        typed = await guard.posted(request)
        await guard.refuse_if_flooding(visit)
        guard.check_form(visit, typed)
        letter = read_letter(typed)
        # counted before the costly classification, so a burst stops at the address's limit
        reserved = await guard.reserve(visit)
        code = query_code.new_code()
        case_id = await _file(visit, letter, code)
    except LetterRefused as refusal:
        return await _refused_letter(visit, typed, refusal, reserved)
    log.info("mailbox_letter_filed", case_id=case_id, whistleblower=letter.whistleblower)
    return render.sent_page(query_code.shown(code), visit.now, visit.zone)


@public
async def query_form(request: web.Request) -> web.StreamResponse:
    """The empty query form."""
    visit = await guard.visit_of(request)
    return render.query_page("", csrf=visit.csrf)


@public
async def query(request: web.Request) -> web.StreamResponse:
    """A letter's progress by its query code; every look-up counts against the limit."""
    visit = await guard.visit_of(request)
    typed = ""
    try:
        guard.refuse_cross_site(request)
        typed = (await guard.posted(request)).get("code", "")
        progress = await _look_up(visit, typed)
    except LetterRefused as refusal:

        def again(error: str, status: int) -> web.Response:
            return render.query_page(typed, csrf=visit.csrf, error=error, status=status)

        return guard.answer(visit, refusal, PublicAction.QUERY, again)
    return render.progress_page(progress, visit.zone)


async def _file(visit: Visit, letter: Letter, code: str) -> int:
    repeat = await mailbox.has_open_case(visit.db, letter.phone)
    # the first classification in a process builds jieba's dictionary: off the loop
    suggestion = await asyncio.to_thread(_classify, letter.text, repeat)
    return await mailbox.file_letter(
        visit.db,
        mailbox.draft_fields(letter, suggestion),
        client_key=visit.client_key,
        code_hash=query_code.code_hash(code),
        at=visit.now,
    )


def _classify(text: str, repeat: bool) -> CaseDraftSuggestion:
    return case_draft(text, load_taxonomy(), repeat_caller=repeat)


async def _refused_letter(
    visit: Visit, typed: Mapping[str, str], refusal: LetterRefused, reserved: int | None
) -> web.Response:
    if reserved is not None:  # counted as a letter already: now as a refused one
        await mailbox.release_letter(visit.db, reserved)
    elif refusal.kind not in guard.UNCOUNTED:
        await mailbox.record(visit.db, visit.client_key, PublicAction.REJECTED, now=visit.now)

    def again(error: str, status: int) -> web.Response:
        token = guard.fresh_token(visit)
        return render.letter_page(typed, token=token, csrf=visit.csrf, error=error, status=status)

    return guard.answer(visit, refusal, PublicAction.SUBMIT, again)


async def _look_up(visit: Visit, typed: str) -> Progress:
    code = query_code.parse(typed)
    found = await mailbox.look_up(
        visit.db,
        None if code is None else query_code.code_hash(code),
        client_key=visit.client_key,
        at=visit.now,
        queries_per_hour=visit.settings.mailbox_queries_per_hour,
    )
    if code is None:
        raise LetterRefused(Refusal.INVALID, BAD_CODE)
    if found is None:
        raise LetterRefused(Refusal.NOT_FOUND, UNKNOWN_CODE)
    return found
