"""The office's follow-up (回访) API, with a stand-in for AMI (the real call through Asterisk is
tests/test_followup_asterisk.py): who may call, what can be called, the manual list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ivr.db import cases, followups
from ivr.db.models import Role
from ivr.handlers.agent_presence import AgentPresence
from ivr.services import utc_now
from ivr.settings import Settings
from ivr.web.app import make_app
from ivr.web.presence import Telephony
from ivr.web.state import ConsolePolicy
from tests.followup_fixtures import FakeAmi, replied_case_in
from tests.test_web_console import Sessions, add_user, csrf_of, login

Client = TestClient[Any, Any]


@pytest.fixture
async def office(
    aiohttp_client: Callable[..., Awaitable[Client]], db_sessionmaker: Sessions
) -> tuple[Client, FakeAmi, str]:
    """A logged-in office user on a console wired to the stand-in; (client, ami, csrf)."""
    ami = FakeAmi()
    telephony = Telephony(ami, AgentPresence("q", clock=utc_now))
    app = make_app(lambda: {}, db=db_sessionmaker, policy=ConsolePolicy(), telephony=telephony)
    client = await aiohttp_client(app)
    await login(client, await add_user(db_sessionmaker, Role.OFFICE))
    return client, ami, csrf_of(await (await client.get("/")).text())


async def test_the_office_calls_back_and_unanswered_calls_are_counted(
    office: tuple[Client, FakeAmi, str], db_sessionmaker: Sessions
) -> None:
    client, ami, csrf = office
    case_id = await replied_case_in(db_sessionmaker, Settings(), "13900001234")
    path = f"/api/workflow/cases/{case_id}/follow-up-call"
    answer = await client.post(path, headers={"X-CSRF-Token": csrf})
    assert answer.status == 200 and (await answer.json())["answered"]
    sent = ami.sent[-1]
    assert sent["Channel"] == "PJSIP/13900001234@trunk" and sent["Context"] == "followup"
    assert sent["Variable"] == [f"IVR_CASE_ID={case_id}"]

    # the survey is still going on: a second click must not ring the citizen again
    again = await client.post(path, headers={"X-CSRF-Token": csrf})
    assert again.status == 409 and len(ami.sent) == 1
    # the citizen hangs up without answering (the survey flow notes it); two more tries fail
    await followups.note_unanswered(
        db_sessionmaker, case_id, at=datetime.now(UTC), reason="hung up during the survey"
    )
    ami.answer = False
    for _ in range(2):
        refused = await client.post(path, headers={"X-CSRF-Token": csrf})
        assert refused.status == 200 and not (await refused.json())["answered"]
    listed = await (await client.get("/api/followups")).json()
    mine = next(item for item in listed["items"] if item["id"] == case_id)
    assert (mine["calls"], mine["unanswered_calls"]) == (3, 3)
    assert (mine["manual"], mine["next_call_at"]) == (True, None), "three calls: by hand now"


async def test_only_replied_cases_with_a_number_are_called(
    office: tuple[Client, FakeAmi, str], db_sessionmaker: Sessions
) -> None:
    client, ami, csrf = office
    draft = await cases.create_blank_draft(db_sessionmaker, call_uniqueid=None, caller_number="1")
    headers = {"X-CSRF-Token": csrf}
    not_replied = await client.post(f"/api/workflow/cases/{draft}/follow-up-call", headers=headers)
    assert not_replied.status == 400 and "replied" in (await not_replied.json())["error"]
    unknown = await client.post("/api/workflow/cases/999999/follow-up-call", headers=headers)
    assert unknown.status == 404
    no_number = await replied_case_in(db_sessionmaker, Settings(), "")
    refused = await client.post(f"/api/workflow/cases/{no_number}/follow-up-call", headers=headers)
    assert refused.status == 400 and "number" in (await refused.json())["error"]
    assert ami.sent == [], "nothing was dialled"


async def test_agents_may_not_and_a_console_without_telephony_says_so(
    aiohttp_client: Callable[..., Awaitable[Client]], db_sessionmaker: Sessions
) -> None:
    client = await aiohttp_client(make_app(lambda: {}, db=db_sessionmaker, policy=ConsolePolicy()))
    await login(client, await add_user(db_sessionmaker, Role.AGENT))
    csrf = csrf_of(await (await client.get("/")).text())
    path = "/api/workflow/cases/1/follow-up-call"
    assert (await client.post(path, headers={"X-CSRF-Token": csrf})).status == 403
    client.session.cookie_jar.clear()
    await login(client, await add_user(db_sessionmaker, Role.OFFICE))
    csrf = csrf_of(await (await client.get("/")).text())
    assert (await client.post(path, headers={"X-CSRF-Token": csrf})).status == 503
