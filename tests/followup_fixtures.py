"""A replied case, ready for its follow-up call (回访), made through the workflow functions;
a stand-in for AMI that answers or refuses Originate the way Asterisk does."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ivr.app import IvrRuntime
from ivr.cases.taxonomy import load_taxonomy
from ivr.db import registration, workflow, workflow_catalogue, workflow_handling
from ivr.db.calls import Sessions
from ivr.db.workflow_state import Actor
from ivr.errors import AmiError
from ivr.settings import Settings
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import Party


async def replied_case(runtime: IvrRuntime, number: str) -> int:
    """A walk-in case registered, dispatched, accepted and replied, from `number`."""
    assert runtime.services is not None
    return await replied_case_in(runtime.services.db, runtime.settings, number)


async def replied_case_in(
    db: Sessions, settings: Settings, number: str, *, now: datetime | None = None
) -> int:
    """The same on any database, at `now` (default: the wall clock)."""
    now = now or datetime.now(UTC)
    rules = WorkflowRules.from_settings(settings)
    await workflow_catalogue.seed_from_taxonomy(db, load_taxonomy(), actor="test", at=now)
    case = await registration.open_manual_case(
        db,
        actor="agent",
        channel="walk_in",
        caller_number=number,
        edits={"summary": "路灯不亮", "category": "urban", "department": "市城管执法局"},
        at=now,
    )
    office = Actor("office", Party.OFFICE)
    department = Actor("dept", Party.DEPARTMENT, "市城管执法局")
    await workflow.dispatch(
        db, case.id, actor=office, at=now, rules=rules, department="市城管执法局"
    )
    await workflow.accept(db, case.id, actor=department, at=now, rules=rules)
    today = now.astimezone(rules.zone).date().isoformat()
    await workflow_handling.reply(
        db,
        case.id,
        actor=department,
        at=now,
        rules=rules,
        result="已修复",
        handler="李工",
        handled_on=today,
    )
    return case.id


class FakeAmi:
    """Originate answered, or refused the way Asterisk refuses an unanswered call."""

    def __init__(self) -> None:
        self.logged_in = asyncio.Event()
        self.logged_in.set()
        self.sent: list[Mapping[str, Any]] = []
        self.answer = True

    async def action(
        self, fields: Mapping[str, Any], timeout: float = 10, *, as_list: bool | None = None
    ) -> Any:
        self.sent.append(fields)
        if not self.answer:
            raise AmiError("AMI Originate failed: Originate failed")
        return {"Response": "Success", "Message": "Originate successfully queued"}
