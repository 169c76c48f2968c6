"""The urging scheduler on SQLite and PostgreSQL, with a fake clock: a case dispatched and
never accepted is urged, supervised and noticed (holidays counted); acceptance and the
reply stop what follows; each reminder is raised, and audited, exactly once however many
schedulers run; a failing run is logged and the next one goes on.

The PostgreSQL database is shared by the session: the scheduler there also raises the
reminders of other tests' open cases, so these tests look at their own cases only, and
each uses a lease name and a week of 2047 (holidays included) of its own.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from ivr import workflow_scheduler
from ivr.db import duty_bulk, lease, urging_views, workflow
from ivr.db import urging as store
from ivr.db import workflow_handling as handling
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.urging_models import CaseReminder
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.urging import Reminder
from ivr.workflow_scheduler import UrgingScheduler
from tests.test_workflow_calendar import bj
from tests.test_workflow_db import OFFICE, desk_of, fresh, kinds, listed, registered

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
RULES = WorkflowRules()
FIRST_MONDAY = date(2047, 4, 1)


def week(n: int) -> date:
    """The Monday of this file's n-th fortnight of 2047 (one per test)."""
    return FIRST_MONDAY + timedelta(days=14 * n)


def on(monday: date, days: int, hour: int, minute: int = 0) -> datetime:
    """`days` after `monday`, at hour:minute in Beijing."""
    return bj(monday + timedelta(days=days), hour, minute)


def scheduler(sm: Sessions, name: str, holder: str = "p1") -> UrgingScheduler:
    """A scheduler with a lease of this test's own."""
    return UrgingScheduler(sm, rules=RULES, holder=holder, lease_name=name)


async def stored(sm: Sessions, case_id: int) -> list[str]:
    """The kinds of the case's reminders, in the order they were raised."""
    async with sm() as session:
        query = select(CaseReminder.kind).where(CaseReminder.case_id == case_id)
        return list(await session.scalars(query.order_by(CaseReminder.id)))


async def dispatched(sm: Sessions, at: datetime) -> tuple[int, str]:
    """A case dispatched at `at` to a department of its own; its id and the department."""
    department = fresh("市城管执法局")
    await listed(sm, department)
    case_id = await registered(sm, at)
    await workflow.dispatch(sm, case_id, actor=OFFICE, at=at, rules=RULES, department=department)
    return case_id, department


async def test_never_accepted_is_urged_supervised_then_noticed(db_sessionmaker: Sessions) -> None:
    sm, monday = db_sessionmaker, week(0)
    await duty_bulk.save_holiday(
        sm, monday + timedelta(days=2), "停工日", "holiday", actor="office-wang", at=bj(monday, 9)
    )
    case_id, department = await dispatched(sm, on(monday, 0, 10))
    runner = scheduler(sm, fresh("urging"))

    await runner.run_once(on(monday, 0, 16, 29))
    assert await stored(sm, case_id) == []
    assert await runner.run_once(on(monday, 0, 16, 30)) >= 1  # two working hours before
    assert await stored(sm, case_id) == ["accept_soon"]
    await runner.run_once(on(monday, 1, 10))  # at the deadline: not late yet
    await runner.run_once(on(monday, 1, 10, 1))
    assert await stored(sm, case_id) == ["accept_soon", "accept_overdue", "accept_supervision"]
    supervised = await urging_views.supervision_list(sm, now=on(monday, 3, 10), rules=RULES)
    mine = [item for item in supervised if item.case.id == case_id]
    assert [(i.reminder.department, i.overdue_minutes) for i in mine] == [(department, 420)]

    # three working days late: Thursday, Friday and Monday, the Wednesday being off
    await runner.run_once(on(monday, 7, 9, 59))
    assert "accept_notice" not in await stored(sm, case_id)
    await runner.run_once(on(monday, 7, 10))
    assert (await stored(sm, case_id))[3:] == ["accept_notice", "reply_soon"]
    trail = await kinds(sm, case_id)
    assert trail[-5:] == ["urged", "urged", "supervised", "noticed", "urged"]

    # accepted and replied: off the supervision list, on the notice list as done
    await handling_done(sm, case_id, department, on(monday, 7, 11))
    await runner.run_once(on(monday, 14, 10))
    assert len(await stored(sm, case_id)) == 5
    now = on(monday, 14, 10)
    assert case_id not in {i.case.id for i in await supervision(sm, now)}
    notices = await urging_views.notice_list(sm, now=now, rules=RULES)
    assert [i.outstanding for i in notices if i.case.id == case_id] == [False]


async def handling_done(sm: Sessions, case_id: int, department: str, at: datetime) -> None:
    """The department accepts and replies at `at`."""
    desk = desk_of(department)
    await workflow.accept(sm, case_id, actor=desk, at=at, rules=RULES)
    await handling.reply(
        sm,
        case_id,
        actor=desk,
        at=at,
        rules=RULES,
        result="已修复路灯",
        handler="张师傅",
        handled_on=at.date().isoformat(),
    )


async def supervision(sm: Sessions, now: datetime) -> list[urging_views.ReminderItem]:
    """The office's supervision list at `now`."""
    return await urging_views.supervision_list(sm, now=now, rules=RULES)


async def test_acceptance_takes_the_case_off_the_supervision_list(
    db_sessionmaker: Sessions,
) -> None:
    sm, monday = db_sessionmaker, week(1)
    case_id, department = await dispatched(sm, on(monday, 0, 10))
    runner = scheduler(sm, fresh("urging"))
    await runner.run_once(on(monday, 1, 11))
    assert case_id in {i.case.id for i in await supervision(sm, on(monday, 1, 11))}
    await workflow.accept(sm, case_id, actor=desk_of(department), at=on(monday, 1, 12), rules=RULES)
    assert case_id not in {i.case.id for i in await supervision(sm, on(monday, 1, 12))}
    await runner.run_once(on(monday, 3, 10))  # the reply is not due yet
    assert await stored(sm, case_id) == ["accept_overdue", "accept_supervision"]


async def test_a_pending_extension_holds_the_reminder_and_an_approved_one_moves_it(
    db_sessionmaker: Sessions,
) -> None:
    sm, monday = db_sessionmaker, week(2)
    case_id, department = await dispatched(sm, on(monday, 0, 10))
    desk, runner = desk_of(department), scheduler(sm, fresh("urging"))
    await workflow.accept(sm, case_id, actor=desk, at=on(monday, 0, 11), rules=RULES)
    await handling.request_extension(
        sm, case_id, actor=desk, at=on(monday, 2, 10), rules=RULES, days=2, reason="等待配件"
    )
    await runner.run_once(on(monday, 6, 10))  # a working day before the reply deadline
    assert await stored(sm, case_id) == []
    await handling.approve_extension(sm, case_id, actor=OFFICE, at=on(monday, 6, 11), rules=RULES)
    await runner.run_once(on(monday, 8, 10))  # a working day before the new deadline
    async with sm() as session:
        row = await session.scalar(select(CaseReminder).where(CaseReminder.case_id == case_id))
    assert row is not None and row.kind == "reply_soon"
    assert row.deadline == on(monday, 9, 10)


async def test_running_twice_raises_each_reminder_once(db_sessionmaker: Sessions) -> None:
    sm, monday = db_sessionmaker, week(3)
    case_id, _ = await dispatched(sm, on(monday, 0, 10))
    # catching up a week and a half late: everything due at once, but no "due soon"
    runner, now = scheduler(sm, fresh("urging")), on(monday, 9, 10)
    assert await runner.run_once(now) >= 5
    assert await runner.run_once(now) == 0
    assert await stored(sm, case_id) == [
        "accept_notice",
        "accept_overdue",
        "accept_supervision",
        "reply_overdue",
        "reply_supervision",
    ]
    trail = await kinds(sm, case_id)
    assert trail[-5:] == ["noticed", "urged", "supervised", "urged", "supervised"]


async def test_two_processes_at_once_raise_each_reminder_once(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(2)]
    first, second = (make_sessionmaker(engine) for engine in engines)
    try:
        monday = week(4)
        case_id, _ = await dispatched(first, on(monday, 0, 10))
        name, now = fresh("urging"), on(monday, 9, 10)
        both = [scheduler(first, name, "p1"), scheduler(second, name, "p2")]
        counts = await asyncio.gather(*(runner.run_once(now) for runner in both))
        assert sorted(counts)[0] == 0 and sorted(counts)[1] >= 5  # only the lease holder ran
        # and without the lease (a holder stalled past it): still once, by the unique key
        later = now + timedelta(days=8)
        due: list[Reminder] = await both[0].due(later)
        mine = [reminder for reminder in due if reminder.case_id == case_id]
        assert mine
        raised = await asyncio.gather(
            *(store.raise_reminders(sm, mine, now=later) for sm in (first, second))
        )
        assert sum(raised) == len(mine)
        reminders, trail = await stored(first, case_id), await kinds(first, case_id)
        assert len(reminders) == len(set(reminders)) == 5 + len(mine)
        assert len([k for k in trail if k in ("urged", "supervised", "noticed")]) == len(reminders)
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))


async def test_the_lease_holder_does_the_work_until_its_lease_lapses(
    db_sessionmaker: Sessions,
) -> None:
    sm, monday = db_sessionmaker, week(5)
    case_id, _ = await dispatched(sm, on(monday, 0, 10))
    name = fresh("urging")
    one, two = scheduler(sm, name, "p1"), scheduler(sm, name, "p2")
    assert await one.run_once(on(monday, 0, 16, 30)) >= 1
    await one.run_once(on(monday, 1, 9, 59))  # p1 holds the lease for the next 5 minutes
    assert await two.run_once(on(monday, 1, 10, 1)) == 0  # so p2 leaves what is due to it
    assert await stored(sm, case_id) == ["accept_soon"]
    assert await one.run_once(on(monday, 1, 10, 2)) >= 2  # p1 renews it and does it
    assert await two.run_once(on(monday, 1, 10, 6)) == 0
    lapsed = on(monday, 1, 10, 2) + workflow_scheduler.DEFAULT_TTL
    assert await two.run_once(lapsed) == 0  # nothing new, but p2 has the lease now
    held = await lease.current(sm, name, now=lapsed)
    assert held is not None and held.holder == "p2"


async def test_run_forever_logs_failures_goes_on_and_gives_the_lease_up(
    db_sessionmaker: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm, monday = db_sessionmaker, week(6)
    case_id, _ = await dispatched(sm, on(monday, 0, 10))
    name, now = fresh("urging"), on(monday, 2, 10)
    runner = UrgingScheduler(sm, rules=RULES, holder="p1", lease_name=name, clock=lambda: now)
    threads: list[threading.Thread] = []
    failures = iter([RuntimeError("database away")])
    real = workflow_scheduler.due_reminders
    loop, stop = asyncio.get_running_loop(), asyncio.Event()

    def computing(*args: object, **kwargs: object) -> list[Reminder]:
        threads.append(threading.current_thread())
        if len(threads) == 3:  # the failed run, then two more: enough
            loop.call_soon_threadsafe(stop.set)
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(workflow_scheduler, "due_reminders", computing)
    with capture_logs() as logs:
        await asyncio.wait_for(runner.run_forever(stop, interval=0.05), timeout=30)
    assert [e["event"] for e in logs].count("urging_run_failed") == 1
    assert len(threads) == 3
    assert threading.current_thread() not in threads  # worked out off the event loop
    assert await stored(sm, case_id) == ["accept_overdue", "accept_supervision"]
    assert await lease.current(sm, name, now=now) is None


async def test_run_forever_wants_an_interval_shorter_than_the_lease(
    db_sessionmaker: Sessions,
) -> None:
    runner = scheduler(db_sessionmaker, fresh("urging"))
    with pytest.raises(ValueError, match="interval"):
        await runner.run_forever(asyncio.Event(), interval=300)


def test_holders_are_unique_per_scheduler() -> None:
    sm = async_sessionmaker[AsyncSession]()
    assert UrgingScheduler(sm, rules=RULES).holder != UrgingScheduler(sm, rules=RULES).holder
