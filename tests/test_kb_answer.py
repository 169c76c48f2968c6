"""Knowledge-base articles on the agent's screen, and 以此答复 (first-contact resolution).

AMI queue events go to the real handlers, the pop reaches the agent's WebSocket (tests/
screen_pop_fixtures.py), on SQLite and PostgreSQL. A pop carries the articles its words
suggest, again when the transcript lands later; answering with one registers the draft as a
consultation (咨询), archives it at once with the article, and never sends it to a
department. Every refusal leaves the draft as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from ivr.db import analysis, cases, kb, screen_pops
from ivr.db.models import Case, CaseEvent, CaseStatus, Role
from ivr.kb.articles import Article
from ivr.web.app import make_app
from ivr.web.pop_bus import PopBus
from ivr.web.state import ConsolePolicy
from ivr.workflow.transitions import Party, RefusalKind, answer_refusal
from tests.screen_pop_fixtures import Client, Desk, agent, next_message
from tests.test_kb_search import HEATING, PENSION, PHONES, SUBSIDY, add_articles, tokenizer
from tests.test_web_console import FakeClock, Sessions, cheap_hashing

__all__ = ["cheap_hashing"]  # the fixture shared with test_web_console

ASKED = "你好，我想问一下住房公积金怎么提取，需要带什么材料"


@pytest.fixture
async def desk(
    aiohttp_client: Callable[..., Awaitable[Client]],
    own_sessionmaker: Sessions,
    pop_clock: FakeClock,
) -> Desk:
    """The console and the handlers on one bus, on a database holding only this test's
    articles (suggestions depend on every article there is)."""
    bus = PopBus()
    app = make_app(
        lambda: {}, db=own_sessionmaker, policy=ConsolePolicy(), clock=pop_clock, bus=bus
    )
    return Desk(await aiohttp_client(app), own_sessionmaker, bus, pop_clock)


@pytest.fixture
async def library(desk: Desk) -> dict[str, Article]:
    """The test articles, by title."""
    return await add_articles(desk.db, kb.KbSearch(desk.db, tokenizer))


async def stored(db: Sessions, case_id: int) -> tuple[Case, list[str]]:
    """The case row and its audit trail's kinds."""
    async with db() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        query = select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        return case, list(await session.scalars(query))


async def test_a_pop_suggests_articles_and_again_when_the_transcript_lands(
    desk: Desk, feed: Any, library: dict[str, Article]
) -> None:
    name, _ = await agent(desk)
    ws = await feed()
    uniqueid, case_id = await desk.call_with_draft(
        transcript="", transcript_available=False, summary=""
    )
    await desk.ring(uniqueid, case_id, name)
    assert (await next_message(ws, "pop"))["suggestions"] == []  # nothing said yet

    await analysis.apply_analysis(
        desk.db, case_id, fields={"transcript": ASKED, "transcript_available": True}
    )
    await desk.case_changed(case_id)
    refreshed = (await next_message(ws, "pop"))["suggestions"]
    assert [s["title"] for s in refreshed] == [PENSION, PHONES]
    assert refreshed[0]["words"] == ["住房公积金", "提取", "材料"]
    assert refreshed[0]["id"] == library[PENSION].id and "提取" in refreshed[0]["excerpt"]
    # the same suggestions for the case when asked for (a claimed draft has no pop)
    asked = await desk.client.get(f"/api/cases/{case_id}/kb-suggestions")
    assert (await asked.json())["suggestions"] == refreshed


async def test_an_expired_article_is_never_suggested(
    desk: Desk, feed: Any, library: dict[str, Article]
) -> None:
    name, _ = await agent(desk)
    ws = await feed()
    said = "家里是低保户，供暖费有补贴吗，困难家庭供暖补贴怎么申请"
    uniqueid, case_id = await desk.call_with_draft(transcript=said, summary="咨询供暖补贴")
    await desk.ring(uniqueid, case_id, name)
    suggested = [s["title"] for s in (await next_message(ws, "pop"))["suggestions"]]
    assert suggested[0] == HEATING and SUBSIDY not in suggested


async def test_answering_with_an_article_closes_the_consultation_at_first_contact(
    desk: Desk, feed: Any, library: dict[str, Article]
) -> None:
    name, csrf = await agent(desk)
    ws = await feed()
    uniqueid, case_id = await desk.call_with_draft(transcript=ASKED, summary="")
    await desk.ring(uniqueid, case_id, name)
    version = (await next_message(ws, "pop"))["case"]["version"]
    await desk.event("AgentConnect", uniqueid, name)
    body = {
        "version": version,
        "fields": {"summary": "咨询公积金提取所需材料，已按知识库答复", "caller_name": "李先生"},
        "article_id": library[PENSION].id,
    }
    answer = await desk.client.post(
        f"/api/cases/{case_id}/answer", json=body, headers={"X-CSRF-Token": csrf}
    )
    done = await answer.json()
    assert answer.status == 200, done
    assert done["case"]["status"] == "archived" and done["case"]["number"].startswith("12345-")
    assert done["article"]["title"] == PENSION
    assert (await next_message(ws, "close"))["pop_id"]
    assert await screen_pops.open_pops_of(desk.db, name) == []

    case, events = await stored(desk.db, case_id)
    assert case.status == CaseStatus.ARCHIVED and case.first_contact_resolved
    assert case.kb_article_id == library[PENSION].id
    assert (case.category, case.department) == ("other", "12345热线直接答复")
    assert (case.summary, case.caller_name) == (body["fields"]["summary"], "李先生")
    assert not case.needs_callback and not case.whistleblower
    assert events[-2:] == ["registered", "archived"]
    async with desk.db() as session:
        last = await session.scalar(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc())
        )
    assert last is not None and last.actor == name and PENSION in (last.note or "")
    assert last.after == {
        "status": "archived",
        "kb_article_id": library[PENSION].id,
        "first_contact_resolved": True,
    }
    # archived: nobody works on it any more (no dispatch, no follow-up call)
    dispatch = await desk.client.post(
        f"/api/workflow/cases/{case_id}/dispatch", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert dispatch.status in (403, 409)


async def test_a_refused_answer_leaves_the_draft_as_it_was(
    desk: Desk, feed: Any, library: dict[str, Article]
) -> None:
    name, csrf = await agent(desk)
    ws = await feed()
    uniqueid, case_id = await desk.call_with_draft(transcript=ASKED)
    await desk.ring(uniqueid, case_id, name)
    version = (await next_message(ws, "pop"))["case"]["version"]
    headers = {"X-CSRF-Token": csrf}

    async def refused(status: int, **changes: Any) -> str:
        body = {"version": version, "fields": {}, "article_id": library[PENSION].id} | changes
        answer = await desk.client.post(f"/api/cases/{case_id}/answer", json=body, headers=headers)
        message = (await answer.json())["error"]
        assert answer.status == status, message
        return str(message)

    assert "不在您的工作台上" in await refused(403)  # still ringing: not answered yet
    await desk.event("AgentConnect", uniqueid, name)
    assert "reload" in await refused(409, version=version - 1)
    assert "不在有效期内" in await refused(400, article_id=library[SUBSIDY].id)
    assert "不在有效期内" in await refused(400, article_id=10**6)
    assert "知识库文章" in await refused(400, article_id=None)
    assert "检举/举报" in await refused(400, fields={"whistleblower": True})
    assert "priority" in await refused(400, fields={"priority": "whenever"})
    assert "version" in await refused(400, version="1")

    case, events = await stored(desk.db, case_id)
    assert (case.status, case.version, case.number) == ("draft", version, None)
    assert case.kb_article_id is None and not case.first_contact_resolved
    assert "registered" not in events and not case.whistleblower
    assert [pop.case_id for pop in await screen_pops.open_pops_of(desk.db, name)] == [case_id]

    _, other = await agent(desk)  # another agent, who never had it on screen
    assert (
        await desk.client.post(
            f"/api/cases/{case_id}/answer",
            json={"version": version, "fields": {}, "article_id": library[PENSION].id},
            headers={"X-CSRF-Token": other},
        )
    ).status == 403
    _, department = await agent(desk, Role.DEPARTMENT)
    assert (
        await desk.client.post(
            f"/api/cases/{case_id}/answer", json={}, headers={"X-CSRF-Token": department}
        )
    ).status == 403
    assert (await cases.get_case(desk.db, case_id)).status == "draft"


async def test_a_registered_case_is_not_answered_again(
    desk: Desk, library: dict[str, Article]
) -> None:
    _, csrf = await agent(desk, Role.OFFICE)  # the office may register any draft
    _, case_id = await desk.call_with_draft(transcript=ASKED)
    headers = {"X-CSRF-Token": csrf}
    registered = await desk.client.post(
        f"/api/cases/{case_id}/register", json={"version": 1, "fields": {}}, headers=headers
    )
    version = (await registered.json())["case"]["version"]
    answer = await desk.client.post(
        f"/api/cases/{case_id}/answer",
        json={"version": version, "fields": {}, "article_id": library[PENSION].id},
        headers=headers,
    )
    assert answer.status == 409 and "待交办" in (await answer.json())["error"]
    case, _ = await stored(desk.db, case_id)
    assert case.status == "registered" and case.kb_article_id is None


def test_whoever_takes_the_call_answers_drafts_only() -> None:
    for party in (Party.AGENT, Party.LEADER, Party.OFFICE):
        assert answer_refusal(party, CaseStatus.DRAFT) is None
        for status in set(CaseStatus) - {CaseStatus.DRAFT}:
            found = answer_refusal(party, status)
            assert found is not None and found.kind is RefusalKind.CONFLICT
    for party in (Party.DEPARTMENT, Party.SYSTEM):
        found = answer_refusal(party, CaseStatus.DRAFT)
        assert found is not None and found.kind is RefusalKind.FORBIDDEN
    archived = answer_refusal(Party.AGENT, CaseStatus.ARCHIVED)
    assert archived is not None and "归档后只读" in str(archived)
