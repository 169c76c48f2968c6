"""Case numbers `12345-YYYYMMDD-NNNNNN`: the service day in local time and its sequence.

The pure part (which day, how it is written) is separate from the allocation, which takes
the next value of a per-day counter row in one atomic upsert, so several ivr processes
sharing one database never hand out the same number and never leave a gap.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.engine import dialect_insert
from ivr.db.models import CaseNumberCounter

HOTLINE = "12345"
DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_SEQUENCE = 999_999
_NUMBER = re.compile(rf"^{HOTLINE}-(\d{{8}})-(\d{{6}})$")


def service_day(at: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The calendar day in the hotline's time zone at an instant (16:30Z is 00:30 in Shanghai)."""
    if at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass a timezone-aware one")
    return at.astimezone(ZoneInfo(timezone)).date()


def format_case_number(day: date, sequence: int) -> str:
    """`12345-YYYYMMDD-NNNNNN` for the sequence-th case of the day."""
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"case sequence {sequence} is outside 1..{MAX_SEQUENCE}")
    return f"{HOTLINE}-{day:%Y%m%d}-{sequence:06d}"


def parse_case_number(number: str) -> tuple[date, int]:
    """The day and sequence of a case number; ValueError when it is not one."""
    match = _NUMBER.match(number)
    if match is None:
        raise ValueError(f"{number!r} is not a case number like 12345-20261127-000123")
    digits, sequence = match.groups()
    day = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    return day, int(sequence)


async def next_sequence(session: AsyncSession, day: date) -> int:
    """Take the day's next sequence; the counter row stays locked until the transaction ends."""
    counter = CaseNumberCounter.__table__
    stmt = (
        dialect_insert(session, counter)
        .values(day=day, value=1)
        .on_conflict_do_update(index_elements=[counter.c.day], set_={"value": counter.c.value + 1})
        .returning(counter.c.value)
    )
    return int((await session.execute(stmt)).scalar_one())


async def allocate_case_number(
    session: AsyncSession, at: datetime, timezone: str = DEFAULT_TIMEZONE
) -> str:
    """The next case number of the service day at `at`, inside the caller's transaction."""
    day = service_day(at, timezone)
    return format_case_number(day, await next_sequence(session, day))
