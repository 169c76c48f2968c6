"""The public mailbox (市长信箱) in the database: letters filed as drafts, query-code
look-ups, and the per-address counts that rate-limit both across every ivr process.

A letter becomes a case DRAFT on channel `mailbox`, like a phone intake's, so it waits in
the agents' work queue for registration. Each counted request is a `PublicRequest` row
under a keyed hash of the client address; the check and the row are one transaction that
first locks the address (a PostgreSQL advisory lock; SQLite's transactions already take
the one write lock), so parallel requests from one address cannot slip past the limit.
A letter is counted (`reserve_letter`) before the costly classification, so of a burst
from one address only those within the limit are classified; `file_letter` then files it,
or `release_letter` turns the count into a refused one when it is refused after all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.cases.draft import CaseDraftSuggestion, summarize
from ivr.cases.letter import Letter, LetterRefused, Refusal
from ivr.db import cases
from ivr.db.calls import Sessions
from ivr.db.case_fields import DRAFT_FIELDS, validate_fields
from ivr.db.channel_models import PublicAction, PublicRequest
from ivr.db.models import Case, CaseChannel, CaseEvent, CaseEventKind, CaseStatus
from ivr.db.workflow_models import CaseReply

ACTOR = "mailbox"
WINDOW = timedelta(hours=1)
# A draft from the form also carries who wrote and whether it is a report (检举/举报).
LETTER_FIELDS = DRAFT_FIELDS | {"caller_name", "whistleblower"}
# Statuses in which the department's reply is the answer the citizen is waiting for.
ANSWERED = frozenset({CaseStatus.REPLIED, CaseStatus.FOLLOWED_UP, CaseStatus.ARCHIVED})
_ADDRESS_LOCK_SPACE = 12345_07  # first key of the per-address advisory locks
_ADDRESS_LIMIT = 256  # cases.address
_PRUNE_BATCH = 500
# How many requests of these actions an address may make within the hour.
Limits = Mapping[tuple[PublicAction, ...], int]


@dataclasses.dataclass(frozen=True)
class Reply:
    """What the citizen reads of the department's reply: who answered, what, and when."""

    department: str
    result: str
    handled_on: date


@dataclasses.dataclass(frozen=True)
class Progress:
    """A letter's progress as its writer may see it: nothing internal."""

    number: str | None
    status: CaseStatus
    received_at: datetime
    registered_at: datetime | None
    reply: Reply | None


def draft_fields(letter: Letter, suggestion: CaseDraftSuggestion) -> dict[str, object]:
    """The draft a letter makes: the writer's details, the text, the classifier's choices."""
    address = letter.address or (suggestion.address or "")[:_ADDRESS_LIMIT] or None
    return {
        "channel": CaseChannel.MAILBOX.value,
        "caller_number": letter.phone,
        "caller_name": letter.name,
        "contact_phone": letter.phone,
        "address": address,
        "transcript": letter.text,
        "transcript_available": True,  # the text is the writer's own, not an ASR guess
        "category": suggestion.category_code,
        "department": suggestion.department,
        "priority": suggestion.priority_code,
        # "subject：content": squeezed onto one line the two would otherwise run together
        "summary": summarize(f"{letter.subject}：{letter.content}"),
        "whistleblower": letter.whistleblower,
    }


async def retry_at(
    sm: Sessions, client_key: str, limits: Limits, *, now: datetime
) -> datetime | None:
    """When this address is within all of `limits` again; None when it is now."""
    async with sm() as session:
        return await _retry_at(session, client_key, limits, now)


async def record(sm: Sessions, client_key: str, action: PublicAction, *, now: datetime) -> None:
    """Count one request of this address (a refused letter, say)."""
    async with sm.begin() as session:
        await _count(session, client_key, action, now)


async def reserve_letter(sm: Sessions, client_key: str, limits: Limits, *, at: datetime) -> int:
    """Count a letter of this address before it is classified; the count's id.

    LetterRefused THROTTLED, with nothing written, when the address is over a limit.
    """
    async with sm.begin() as session:
        await _lock_address(session, client_key)
        await _refuse_if_over(session, client_key, limits, at)
        counted = await _count(session, client_key, PublicAction.SUBMIT, at)
        await session.flush()
        return counted.id


async def release_letter(sm: Sessions, reserved: int) -> None:
    """A reserved letter was refused after all: count it as a refused one."""
    async with sm.begin() as session:
        counted = update(PublicRequest).where(PublicRequest.id == reserved)
        await session.execute(counted.values(action=PublicAction.REJECTED.value))


async def file_letter(
    sm: Sessions, fields: dict[str, object], *, client_key: str, code_hash: str, at: datetime
) -> int:
    """File a letter (counted by `reserve_letter`) as a mailbox draft with its query code's
    hash; the case id. LetterRefused DUPLICATE, filing nothing, when the same writer sent
    the same text within the hour."""
    checked = validate_fields(fields, LETTER_FIELDS)
    async with sm.begin() as session:
        # one address's letters one at a time: the same letter twice is seen as a duplicate
        await _lock_address(session, client_key)
        await _refuse_duplicate(session, checked, at)
        case_id = await cases.insert_draft(session, None, checked, ACTOR, at)
        # set apart from the audited fields: the trail never holds even the code's hash
        (await cases.lock_case(session, case_id)).query_code_hash = code_hash
        return case_id


async def look_up(
    sm: Sessions, code_hash: str | None, *, client_key: str, at: datetime, queries_per_hour: int
) -> Progress | None:
    """Count a look-up of this address and find the letter (None: no such code, or no
    code at all: a malformed one is counted too). LetterRefused THROTTLED over the limit."""
    async with sm.begin() as session:
        await _lock_address(session, client_key)
        await _refuse_if_over(session, client_key, {(PublicAction.QUERY,): queries_per_hour}, at)
        await _count(session, client_key, PublicAction.QUERY, at)
        if code_hash is None:
            return None
        case = await session.scalar(select(Case).where(Case.query_code_hash == code_hash))
        return None if case is None else await _progress(session, case)


async def has_open_case(sm: Sessions, phone: str) -> bool:
    """Whether this number has another open case (a repeat writer: 重要件 by the rules)."""
    history = await cases.caller_history(sm, phone, limit=5)
    return any(case.is_open for case in history)


async def _retry_at(
    session: AsyncSession, client_key: str, limits: Limits, now: datetime
) -> datetime | None:
    found = [
        await _retry_one(session, client_key, actions, limit, now)
        for actions, limit in limits.items()
    ]
    return max((when for when in found if when is not None), default=None)


async def _retry_one(
    session: AsyncSession,
    client_key: str,
    actions: Sequence[PublicAction],
    limit: int,
    now: datetime,
) -> datetime | None:
    if limit < 1:  # a limit of 0 closes the door
        return now + WINDOW
    # the limit-th latest request in the window: once it leaves, fewer than the limit remain
    nth_latest = await session.scalar(
        select(PublicRequest.at)
        .where(PublicRequest.client_key == client_key)
        .where(PublicRequest.action.in_([action.value for action in actions]))
        .where(PublicRequest.at > now - WINDOW)
        .order_by(PublicRequest.at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    return None if nth_latest is None else nth_latest + WINDOW


async def _refuse_if_over(
    session: AsyncSession, client_key: str, limits: Limits, now: datetime
) -> None:
    when = await _retry_at(session, client_key, limits, now)
    if when is not None:
        raise LetterRefused(Refusal.THROTTLED, "提交过于频繁。", retry_at=when)


async def _refuse_duplicate(session: AsyncSession, fields: dict[str, object], at: datetime) -> None:
    # the writer is who they say they are: the same number with the same text
    same = select(Case.id).where(
        Case.channel == CaseChannel.MAILBOX.value,
        Case.caller_number == fields["caller_number"],
        Case.created_at > at - WINDOW,
        Case.transcript == fields["transcript"],
    )
    if await session.scalar(same.limit(1)) is not None:
        raise LetterRefused(
            Refusal.DUPLICATE, "这封信您已经提交过了，请勿重复提交；可凭查询码查看办理进度。"
        )


async def _count(
    session: AsyncSession, client_key: str, action: PublicAction, at: datetime
) -> PublicRequest:
    # Rows that have left every window are of no use: forget a batch as we go. Rows another
    # transaction is deleting are skipped, so two requests never wait on each other here.
    stale = select(PublicRequest.id).where(PublicRequest.at <= at - WINDOW).limit(_PRUNE_BATCH)
    stale = stale.with_for_update(skip_locked=True)
    await session.execute(delete(PublicRequest).where(PublicRequest.id.in_(stale)))
    counted = PublicRequest(at=at, client_key=client_key, action=action.value)
    session.add(counted)
    return counted


async def _lock_address(session: AsyncSession, client_key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        key = func.hashtext(client_key)
        await session.execute(select(func.pg_advisory_xact_lock(_ADDRESS_LOCK_SPACE, key)))


async def _progress(session: AsyncSession, case: Case) -> Progress:
    status = CaseStatus(case.status)
    main = None if case.merged_into_id is None else await session.get(Case, case.merged_into_id)
    if status is CaseStatus.MERGED and main is not None:
        status = CaseStatus(main.status)  # 并单: the main case's work is this letter's
    registered = select(func.min(CaseEvent.at)).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == CaseEventKind.REGISTERED.value
    )
    # a merged letter is replied with its main case's reply and gets no reply row of its own
    answered_by = [case.id] if main is None else [case.id, main.id]
    reply = await _latest_reply(session, answered_by) if status in ANSWERED else None
    return Progress(
        number=case.number,
        status=status,
        received_at=case.created_at,
        registered_at=await session.scalar(registered),
        reply=reply,
    )


async def _latest_reply(session: AsyncSession, case_ids: Sequence[int]) -> Reply | None:
    latest = select(CaseReply).where(CaseReply.case_id.in_(case_ids))
    row = await session.scalar(latest.order_by(CaseReply.id.desc()).limit(1))
    return None if row is None else Reply(row.department, row.result, row.handled_on)
