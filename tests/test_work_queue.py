"""The agents' work queue: which drafts wait, in what order, and claims that never collide.

Every test runs on SQLite and on PostgreSQL. The queue is global (claim_next takes the
first draft of the whole table), so tests that need to know everything in it get a
database of their own (`own_database_url`) instead of the session's shared PostgreSQL one.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import calls, cases, work_queue
from ivr.db.console_models import PopState, ScreenPop
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.models import Case, CaseEvent, CaseStatus
from ivr.errors import ClaimConflict, RecordNotFound, ValidationError
from tests.db_fixtures import fresh_postgres

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
AT = T0 + timedelta(hours=1)  # when agents claim


def agent() -> str:
    """A username no other test uses."""
    return f"agent-{uuid.uuid4().hex[:10]}"


async def draft(
    sm: Sessions,
    *,
    priority: str = "normal",
    at: datetime = T0,
    call_uniqueid: str | None = None,
    transcript: str = "我家楼下的路灯坏了三天了",
    whistleblower: bool = False,
    caller_number: str = "13800000000",
) -> int:
    """A draft as the IVR or the fallback makes it; with no call unless one is named."""
    case_id = await cases.create_draft(
        sm,
        call_uniqueid=call_uniqueid,
        caller_number=caller_number,
        transcript=transcript,
        transcript_available=True,
        category="城市管理",
        department="城管局",
        priority=priority,
        summary="路灯损坏",
        address=None,
        contact_phone=None,
        at=at,
    )
    if whistleblower:
        # The IVR does not detect reports yet: flag it as an agent's edit would.
        async with sm.begin() as session:
            case = await session.get(Case, case_id)
            assert case is not None
            case.whistleblower = True
    return case_id


async def live_draft(sm: Sessions) -> tuple[str, int]:
    """A draft whose caller is still on the line: (call uniqueid, case id)."""
    uid = str(uuid.uuid4())
    await calls.open_call(sm, uniqueid=uid, channel="PJSIP/x", caller_number="1", started_at=T0)
    await calls.record_queue_join(sm, uid, at=T0, queue="hotline-agents")
    return uid, await draft(sm, call_uniqueid=uid)


async def hang_up(sm: Sessions, uid: str) -> None:
    """The caller leaves."""
    await calls.record_hangup(sm, uid, at=T0 + timedelta(minutes=1), cause="16")


async def pop(sm: Sessions, case_id: int, *, closed: bool = False) -> None:
    """Put the draft on an agent's screen (or where it was, and has been closed since)."""
    async with sm.begin() as session:
        session.add(
            ScreenPop(
                username=agent(),
                interface="PJSIP/8001",
                case_id=case_id,
                call_uniqueid=str(uuid.uuid4()),
                state=PopState.ENDED.value,
                received_at=T0,
                acked_at=None,
                closed_at=T0 if closed else None,
            )
        )


async def waiting_ids(sm: Sessions) -> list[int]:
    """The ids the queue lists, in its order."""
    return [item.id for item in (await work_queue.list_waiting(sm, limit=1000)).items]


async def claims_of(sm: Sessions, case_id: int) -> list[tuple[str, str, Any, Any]]:
    """The claim entries of a case's audit trail: (kind, actor, before, after)."""
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    async with sm() as session:
        events = await session.scalars(query)
        return [
            (e.kind, e.actor, e.before, e.after)
            for e in events
            if e.kind in ("claimed", "released")
        ]


async def holder(sm: Sessions, case_id: int) -> str | None:
    """Who has claimed the case, as stored."""
    async with sm() as session:
        return await session.scalar(select(Case.claimed_by).where(Case.id == case_id))


async def test_most_urgent_first_then_oldest_first(own_sessionmaker: Sessions) -> None:
    made = [
        ("normal", 0),
        ("important", 3),
        ("urgent", 4),
        ("normal", 1),
        ("urgent", 2),
        ("important", 1),
    ]
    ids = {
        (p, minutes): await draft(own_sessionmaker, priority=p, at=T0 + timedelta(minutes=minutes))
        for p, minutes in made
    }
    expected = sorted(made, key=lambda d: (["urgent", "important", "normal"].index(d[0]), d[1]))
    assert await waiting_ids(own_sessionmaker) == [ids[d] for d in expected]
    first_two = await work_queue.list_waiting(own_sessionmaker, limit=2)
    assert first_two.waiting == 6
    assert [i.id for i in first_two.items] == [ids["urgent", 2], ids["urgent", 4]]


async def test_same_priority_and_time_fall_back_to_the_id(own_sessionmaker: Sessions) -> None:
    ids = [await draft(own_sessionmaker) for _ in range(3)]
    assert await waiting_ids(own_sessionmaker) == ids


async def test_items_carry_what_the_agent_picks_by(own_sessionmaker: Sessions) -> None:
    long = "路灯" * 30 + "\n  已经坏了很久" + "，" * 40
    case_id = await draft(own_sessionmaker, priority="urgent", transcript=long, whistleblower=True)
    [item] = (await work_queue.list_waiting(own_sessionmaker)).items
    assert (item.id, item.priority, item.channel, item.created_at) == (
        case_id,
        "urgent",
        "phone",
        T0,
    )
    assert (item.caller_number, item.category, item.summary) == (
        "13800000000",
        "城市管理",
        "路灯损坏",
    )
    assert (item.whistleblower, item.abandoned, item.needs_callback) == (True, False, False)
    assert len(item.excerpt) == work_queue.EXCERPT_CHARS and item.excerpt.endswith("…")
    assert item.excerpt.startswith("路灯" * 30 + " 已经坏了很久")
    assert work_queue.excerpt("短的") == "短的"


async def test_only_drafts_no_one_works_on_are_waiting(
    own_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    mailbox = await draft(own_sessionmaker)  # no call at all
    ended_uid, ended = await live_draft(own_sessionmaker)
    await hang_up(own_sessionmaker, ended_uid)
    live_uid, live = await live_draft(own_sessionmaker)
    on_screen, dismissed = await draft(own_sessionmaker), await draft(own_sessionmaker)
    await pop(own_sessionmaker, on_screen)
    await pop(own_sessionmaker, dismissed, closed=True)
    registered, claimed = await draft(own_sessionmaker), await draft(own_sessionmaker)
    await cases.register_case(
        own_sessionmaker,
        registered,
        actor="agent:li",
        edits={},
        expected_version=1,
        at=fresh_instant(),
    )
    await work_queue.claim(own_sessionmaker, claimed, agent(), at=AT)
    assert await waiting_ids(own_sessionmaker) == [mailbox, ended, dismissed]
    assert (await work_queue.list_waiting(own_sessionmaker)).waiting == 3
    await hang_up(own_sessionmaker, live_uid)  # the caller gave up: the draft is the queue's now
    assert await waiting_ids(own_sessionmaker) == [mailbox, ended, live, dismissed]


async def test_an_abandoned_call_s_draft_waits_flagged_for_callback(
    own_sessionmaker: Sessions,
) -> None:
    uid, case_id = await live_draft(own_sessionmaker)
    await calls.record_abandon(own_sessionmaker, uid, at=T0, wait_seconds=30)
    await hang_up(own_sessionmaker, uid)
    [item] = (await work_queue.list_waiting(own_sessionmaker)).items
    assert (item.id, item.abandoned, item.needs_callback) == (case_id, True, True)


async def test_empty_queue(own_sessionmaker: Sessions) -> None:
    assert await work_queue.list_waiting(own_sessionmaker) == work_queue.WaitingList(0, ())
    assert await work_queue.claim_next(own_sessionmaker, agent(), at=AT) is None
    with pytest.raises(ValueError, match="limit"):
        await work_queue.list_waiting(own_sessionmaker, limit=0)


async def test_a_claim_is_stored_and_audited(db_sessionmaker: Sessions) -> None:
    case_id, me = await draft(db_sessionmaker), agent()
    view = await work_queue.claim(db_sessionmaker, case_id, me, at=AT)
    assert (view.id, view.status, view.version) == (case_id, CaseStatus.DRAFT, 2)
    async with db_sessionmaker() as session:
        case = await session.get(Case, case_id)
    assert case is not None and (case.claimed_by, case.claimed_at) == (me, AT)
    assert await claims_of(db_sessionmaker, case_id) == [
        ("claimed", me, {"claimed_by": None}, {"claimed_by": me})
    ]
    assert await work_queue.claimed_by(db_sessionmaker, me) == view
    assert case_id not in await waiting_ids(db_sessionmaker)


async def test_claiming_what_you_hold_again_changes_nothing(db_sessionmaker: Sessions) -> None:
    case_id, me = await draft(db_sessionmaker), agent()
    first = await work_queue.claim(db_sessionmaker, case_id, me, at=AT)
    again = await work_queue.claim(db_sessionmaker, case_id, me, at=AT + timedelta(minutes=5))
    assert again == first
    assert len(await claims_of(db_sessionmaker, case_id)) == 1


async def test_an_agent_holds_one_draft_at_a_time(db_sessionmaker: Sessions) -> None:
    first, second, me = await draft(db_sessionmaker), await draft(db_sessionmaker), agent()
    await work_queue.claim(db_sessionmaker, first, me, at=AT)
    with pytest.raises(ClaimConflict, match=f"already hold case {first}"):
        await work_queue.claim(db_sessionmaker, second, me, at=AT)
    with pytest.raises(ClaimConflict, match=f"already hold case {first}"):
        await work_queue.claim_next(db_sessionmaker, me, at=AT)
    assert await holder(db_sessionmaker, second) is None
    await work_queue.release(db_sessionmaker, first, me, at=AT)
    assert (await work_queue.claim(db_sessionmaker, second, me, at=AT)).id == second


async def test_claims_the_queue_does_not_allow(db_sessionmaker: Sessions) -> None:
    me, other = agent(), agent()
    with pytest.raises(RecordNotFound, match="no case"):
        await work_queue.claim(db_sessionmaker, 2**31 - 1, me, at=AT)
    taken = await draft(db_sessionmaker)
    await work_queue.claim(db_sessionmaker, taken, other, at=AT)
    with pytest.raises(ClaimConflict, match=f"claimed by {other}"):
        await work_queue.claim(db_sessionmaker, taken, me, at=AT)
    _, live = await live_draft(db_sessionmaker)
    with pytest.raises(ValidationError, match="still live"):
        await work_queue.claim(db_sessionmaker, live, me, at=AT)
    on_screen = await draft(db_sessionmaker)
    await pop(db_sessionmaker, on_screen)
    with pytest.raises(ValidationError, match="on a screen"):
        await work_queue.claim(db_sessionmaker, on_screen, me, at=AT)
    done = await draft(db_sessionmaker)
    await cases.register_case(db_sessionmaker, done, actor="x", edits={}, expected_version=1)
    with pytest.raises(ValidationError, match="already registered"):
        await work_queue.claim(db_sessionmaker, done, me, at=AT)
    assert await work_queue.claimed_by(db_sessionmaker, me) is None
    assert [await holder(db_sessionmaker, c) for c in (live, on_screen, done)] == [None] * 3


async def test_release_gives_the_draft_back(db_sessionmaker: Sessions) -> None:
    case_id, me, other = await draft(db_sessionmaker), agent(), agent()
    await work_queue.claim(db_sessionmaker, case_id, me, at=AT)
    with pytest.raises(ClaimConflict, match=f"claimed by {me}, not by you"):
        await work_queue.release(db_sessionmaker, case_id, other, at=AT)
    assert await holder(db_sessionmaker, case_id) == me
    later = AT + timedelta(minutes=3)
    view = await work_queue.release(db_sessionmaker, case_id, me, at=later)
    assert view.version == 3 and await holder(db_sessionmaker, case_id) is None
    assert case_id in await waiting_ids(db_sessionmaker)
    await work_queue.release(db_sessionmaker, case_id, me, at=later)  # a double click
    assert await claims_of(db_sessionmaker, case_id) == [
        ("claimed", me, {"claimed_by": None}, {"claimed_by": me}),
        ("released", me, {"claimed_by": me}, {"claimed_by": None}),
    ]
    assert await work_queue.claimed_by(db_sessionmaker, me) is None
    with pytest.raises(RecordNotFound):
        await work_queue.release(db_sessionmaker, 2**31 - 1, me, at=AT)


async def test_registering_the_claimed_draft_frees_the_agent(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    first, second, me = await draft(db_sessionmaker), await draft(db_sessionmaker), agent()
    view = await work_queue.claim(db_sessionmaker, first, me, at=AT)
    await cases.register_case(
        db_sessionmaker,
        first,
        actor=me,
        edits={"summary": "人民路路灯损坏"},
        expected_version=view.version,
        at=fresh_instant(),
    )
    assert first not in await waiting_ids(db_sessionmaker)
    assert await work_queue.claimed_by(db_sessionmaker, me) is None
    assert (await work_queue.claim(db_sessionmaker, second, me, at=AT)).id == second
    with pytest.raises(ValidationError, match="nothing to release"):
        await work_queue.release(db_sessionmaker, first, me, at=AT)


async def test_claim_next_takes_the_most_urgent_oldest(own_sessionmaker: Sessions) -> None:
    await draft(own_sessionmaker, priority="normal", at=T0)
    newer = await draft(own_sessionmaker, priority="urgent", at=T0 + timedelta(minutes=2))
    older = await draft(own_sessionmaker, priority="urgent", at=T0 + timedelta(minutes=1))
    me, other = agent(), agent()
    mine, theirs = [await work_queue.claim_next(own_sessionmaker, a, at=AT) for a in (me, other)]
    assert mine is not None and mine.id == older
    assert theirs is not None and theirs.id == newer
    assert await claims_of(own_sessionmaker, older) == [
        ("claimed", me, {"claimed_by": None}, {"claimed_by": me})
    ]


async def test_eight_agents_claiming_one_draft_at_once_one_wins(
    own_database_url: str, own_sessionmaker: Sessions
) -> None:
    case_id, agents = await draft(own_sessionmaker), [agent() for _ in range(8)]
    results = await _concurrently(
        own_database_url, [lambda sm, a=a: work_queue.claim(sm, case_id, a, at=AT) for a in agents]
    )
    won = [a for a, r in zip(agents, results, strict=True) if isinstance(r, cases.CaseView)]
    assert len(won) == 1, results
    assert all(isinstance(r, ClaimConflict) for r in results if not isinstance(r, cases.CaseView))
    assert await holder(own_sessionmaker, case_id) == won[0]
    assert [c[1] for c in await claims_of(own_sessionmaker, case_id)] == won


async def test_eight_agents_taking_the_next_draft_never_share_one(
    own_database_url: str, own_sessionmaker: Sessions
) -> None:
    ids = [await draft(own_sessionmaker, at=T0 + timedelta(seconds=s)) for s in range(5)]
    agents = [agent() for _ in range(8)]
    results = await _concurrently(
        own_database_url, [lambda sm, a=a: work_queue.claim_next(sm, a, at=AT) for a in agents]
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    taken = {a: r.id for a, r in zip(agents, results, strict=True) if r is not None}
    assert sorted(taken.values()) == ids, results
    assert results.count(None) == 3
    for who, case_id in taken.items():
        assert await holder(own_sessionmaker, case_id) == who
        assert [c[1] for c in await claims_of(own_sessionmaker, case_id)] == [who]
    assert await waiting_ids(own_sessionmaker) == []


async def test_one_agent_in_two_tabs_still_gets_one_draft(
    own_database_url: str, own_sessionmaker: Sessions
) -> None:
    ids, me = [await draft(own_sessionmaker) for _ in range(3)], agent()
    by_id = [lambda sm, c=c: work_queue.claim(sm, c, me, at=AT) for c in ids]
    results = await _concurrently(own_database_url, by_id)
    results += await _concurrently(
        own_database_url, [lambda sm: work_queue.claim_next(sm, me, at=AT)] * 3
    )
    assert sum(isinstance(r, cases.CaseView) for r in results) == 1, results
    assert sum(isinstance(r, ClaimConflict) for r in results) == 5
    assert [await holder(own_sessionmaker, c) for c in ids].count(me) == 1


_WORKER = textwrap.dedent(
    """
    import asyncio, sys, time
    from datetime import datetime
    from ivr.db import work_queue
    from ivr.db.engine import make_engine, make_sessionmaker

    async def main(url, at, start, agents):
        engine = make_engine(url)
        sm = make_sessionmaker(engine)
        await asyncio.sleep(max(0.0, start - time.time()))  # all workers start together
        views = await asyncio.gather(*(work_queue.claim_next(sm, a, at=at) for a in agents))
        await engine.dispose()
        for agent, view in zip(agents, views):
            print(agent, view.id if view else "-")

    url, at, start, *agents = sys.argv[1:]
    asyncio.run(main(url, datetime.fromisoformat(at), float(start), agents))
    """
)


@pytest.mark.postgres
async def test_separate_processes_never_take_the_same_draft() -> None:
    with fresh_postgres() as url:
        engine = make_engine(url)
        try:
            ids = [await draft(make_sessionmaker(engine), at=T0) for _ in range(8)]
        finally:
            await engine.dispose()
        start = time.time() + 2
        workers = [await _spawn(url, start, [agent() for _ in range(3)]) for _ in range(4)]
        outputs = [(await w.communicate())[0].decode().split("\n") for w in workers]
    assert [w.returncode for w in workers] == [0] * 4
    lines = [line.split() for output in outputs for line in output if line]
    claimed = [int(case_id) for _, case_id in lines if case_id != "-"]
    assert sorted(claimed) == ids and len(lines) == 12


async def _spawn(url: str, start: float, agents: list[str]) -> asyncio.subprocess.Process:
    args = ("-c", _WORKER, url, AT.isoformat(), str(start), *agents)
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE
    )


async def _concurrently(url: str, calls_: list[Callable[[Sessions], Any]]) -> list[Any]:
    """Run each call at once on an engine of its own, as separate ivr processes would."""
    engines = [make_engine(url) for _ in calls_]
    try:
        return await asyncio.gather(
            *(call(make_sessionmaker(e)) for call, e in zip(calls_, engines, strict=True)),
            return_exceptions=True,
        )
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))
