"""Registration (受理) as the console does it: the case, its screen-pops and its claim at once.

An agent registers the draft on their screen (or one they claimed); an agent can also open
a case by hand for a walk-in visitor or a mailbox letter, drafted and registered in one
transaction so a refused edit leaves no orphan draft behind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from ivr.db import cases
from ivr.db.calls import Sessions
from ivr.db.case_fields import DRAFT_FIELDS, EDITABLE_FIELDS, validate_fields
from ivr.db.cases import CaseView
from ivr.db.console_models import PopClose
from ivr.db.models import CaseChannel
from ivr.db.numbering import DEFAULT_TIMEZONE
from ivr.db.screen_pops import PopView, close_pops_in
from ivr.errors import ValidationError

# Channels a person opens a case for by hand; phone cases come from calls.
MANUAL_CHANNELS = (CaseChannel.WALK_IN.value, CaseChannel.MAILBOX.value)


@dataclasses.dataclass(frozen=True)
class Registered:
    """A registered case and the pops that registration took off screens."""

    case: CaseView
    closed_pops: list[PopView]


async def register_draft(
    sm: Sessions,
    case_id: int,
    *,
    actor: str,
    edits: Mapping[str, object],
    expected_version: int,
    at: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> Registered:
    """Register a draft with the edits and close every pop showing it, in one transaction."""
    changes = validate_fields(edits, EDITABLE_FIELDS)
    async with sm.begin() as session:
        await cases.register_in(
            session,
            case_id,
            actor=actor,
            changes=changes,
            expected_version=expected_version,
            at=at,
            timezone=timezone,
        )
        closed = await close_pops_in(session, case_id, reason=PopClose.REGISTERED, at=at)
        return Registered(await cases.view_in(session, case_id), closed)


async def open_manual_case(
    sm: Sessions,
    *,
    actor: str,
    channel: str,
    caller_number: str,
    edits: Mapping[str, object],
    at: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> CaseView:
    """A walk-in or mailbox request, drafted and registered at once."""
    if channel not in MANUAL_CHANNELS:
        raise ValidationError(f"channel must be one of {', '.join(MANUAL_CHANNELS)}")
    changes = validate_fields(edits, EDITABLE_FIELDS)
    draft = validate_fields(
        {"caller_number": caller_number, "channel": channel, **_blank()}, DRAFT_FIELDS
    )
    async with sm.begin() as session:
        case_id = await cases.insert_draft(session, None, draft, actor, at)
        version = (await cases.view_in(session, case_id)).version
        await cases.register_in(
            session,
            case_id,
            actor=actor,
            changes=changes,
            expected_version=version,
            at=at,
            timezone=timezone,
        )
        return await cases.view_in(session, case_id)


def _blank() -> dict[str, object]:
    # what a person fills in comes with the registration's edits, audited there
    return {
        "transcript": "",
        "transcript_available": False,
        "category": "other",
        "department": "",
        "priority": "normal",
        "summary": "",
    }
