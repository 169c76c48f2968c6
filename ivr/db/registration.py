"""Registration (受理) as the console does it: the case, its screen-pops and its claim at once.

An agent registers the draft on their screen (or one they claimed); an agent can also open
a case by hand for a walk-in visitor or a mailbox letter, drafted and registered in one
transaction so a refused edit leaves no orphan draft behind. A consultation (咨询) answered
from a knowledge-base article is registered and archived in one transaction (当场答复,
first-contact resolution): it never goes to a department.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ivr.cases.taxonomy import Category
from ivr.db import cases, kb
from ivr.db.calls import Sessions
from ivr.db.case_fields import DRAFT_FIELDS, EDITABLE_FIELDS, validate_fields
from ivr.db.cases import CaseView
from ivr.db.console_models import PopClose
from ivr.db.models import Case, CaseChannel, CaseEvent, CaseEventKind, CaseStatus
from ivr.db.numbering import DEFAULT_TIMEZONE
from ivr.db.screen_pops import PopView, close_pops_in
from ivr.errors import ValidationError
from ivr.kb.articles import Article
from ivr.workflow.transitions import ANSWERED, Party, answer_refusal

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


@dataclasses.dataclass(frozen=True)
class Answered(Registered):
    """A consultation answered at first contact, and the article it was answered with."""

    article: Article


async def answer_with_article(
    sm: Sessions,
    case_id: int,
    *,
    actor: str,
    party: Party,
    article_id: object,
    edits: Mapping[str, object],
    expected_version: int,
    consultation: Category,
    at: datetime,
    today: date,
    timezone: str = DEFAULT_TIMEZONE,
) -> Answered:
    """当场答复: register the draft as a consultation answered with an article in force,
    archive it at once and close its pops, in one transaction."""
    asked = {"category": consultation.code, "department": consultation.department}
    changes = validate_fields({**edits, **asked, "needs_callback": False}, EDITABLE_FIELDS)
    async with sm.begin() as session:
        article = await kb.article_in_force(session, article_id, today)
        case = await cases.lock_case(session, case_id)
        refused = answer_refusal(party, CaseStatus(case.status))
        if refused is not None:
            raise refused
        await cases.register_in(
            session,
            case_id,
            actor=actor,
            changes=changes,
            expected_version=expected_version,
            at=at,
            timezone=timezone,
        )
        if case.whistleblower:  # a report needs a department; its reporter stays protected
            raise ValidationError("检举/举报不是咨询，不能当场答复：请受理后交办")
        _close_answered(session, case, article, actor, at)
        closed = await close_pops_in(session, case_id, reason=PopClose.REGISTERED, at=at)
        return Answered(await cases.view_in(session, case_id), closed, article)


def _close_answered(
    session: AsyncSession, case: Case, article: Article, actor: str, at: datetime
) -> None:
    before = {"status": case.status}
    case.status, case.updated_at = ANSWERED.value, at
    case.kb_article_id, case.first_contact_resolved = article.id, True
    after = {"status": case.status, "kb_article_id": article.id, "first_contact_resolved": True}
    note = f"咨询当场答复（首次来电解决），依据知识库文章 #{article.id}《{article.title}》"
    kind = CaseEventKind.ARCHIVED.value
    session.add(
        CaseEvent(
            case_id=case.id, at=at, actor=actor, kind=kind, before=before, after=after, note=note
        )
    )


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
