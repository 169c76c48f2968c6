"""Checks on leaders, shifts and holidays; each failure is a ScheduleError saying why.

Messages are written for the office (they reach the console as they are), so they name the
leader and the local time rather than ids and UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from ivr.duty.holidays import Holiday, HolidayKind
from ivr.duty.model import Leader, Shift
from ivr.errors import (
    InvalidHoliday,
    InvalidLeader,
    InvalidShift,
    LeaderUnavailable,
    ScheduleError,
    ShiftOverlap,
)

MAX_NAME = 64
MAX_NOTE = 500
MAX_ENDPOINTS = 8
# A dial string as Dial() and app_queue take it: TECH/resource (ivr.db.users'
# INTERFACE_PATTERN has the same idea). Only characters a dial string needs: no spaces,
# no `,` `;` `|` `&` Asterisk splits arguments and interfaces on, no `$`/braces it expands.
ENDPOINT_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]*/[A-Za-z0-9@/._+*#:-]{1,120}$")
ENDPOINT_EXAMPLES = "PJSIP/8001, Local/9101@leaders-sim/n or PJSIP/13800000000@trunk"


def check_endpoint(raw: str) -> str:
    """The dial string trimmed, or InvalidLeader saying what a usable one looks like."""
    value = raw.strip()
    if not ENDPOINT_PATTERN.fullmatch(value):
        raise InvalidLeader(
            f"endpoint {value!r} is not a dial string Asterisk can use: write TECH/resource "
            f"such as {ENDPOINT_EXAMPLES}, without spaces or , ; | & $ {{ }}"
        )
    return value


def split_endpoints(text: str) -> list[str]:
    """Dial strings written in one field, separated by spaces or new lines."""
    return text.split()


def check_leader(name: str, title: str, endpoints: Iterable[str]) -> Leader:
    """A new leader's fields cleaned up (id 0, active), or InvalidLeader."""
    name, title = name.strip(), title.strip()
    if not name:
        raise InvalidLeader("a leader needs a name")
    for label, value in (("name", name), ("title", title)):
        if len(value) > MAX_NAME:
            raise InvalidLeader(f"the leader's {label} must be at most {MAX_NAME} characters")
    cleaned = tuple(dict.fromkeys(check_endpoint(e) for e in endpoints if e.strip()))
    if not cleaned:
        raise InvalidLeader(
            f"leader {name} has no endpoint to be reached at: give at least one, "
            f"such as {ENDPOINT_EXAMPLES}"
        )
    if len(cleaned) > MAX_ENDPOINTS:
        raise InvalidLeader(f"a leader's desk holds at most {MAX_ENDPOINTS} endpoints")
    return Leader(id=0, name=name, title=title, endpoints=cleaned, active=True)


def check_holiday(day: date, name: str, kind: str) -> Holiday:
    """A holiday-list entry, or InvalidHoliday."""
    try:
        known = HolidayKind(kind)
    except ValueError:
        raise InvalidHoliday(
            f"kind {kind!r} is unknown: use holiday (a day off) or workday (调休上班)"
        ) from None
    name = name.strip() or ("节假日" if known is HolidayKind.HOLIDAY else "调休上班")
    if len(name) > MAX_NAME:
        raise InvalidHoliday(f"the holiday's name must be at most {MAX_NAME} characters")
    return Holiday(day=day, name=name, kind=known)


def check_shift(
    shift: Shift,
    leaders: Mapping[int, Leader],
    others: Iterable[Shift],
    *,
    now: datetime,
    zone: tzinfo,
    before: Shift | None = None,
) -> None:
    """Refuse a new shift (or `before` changed into `shift`) that cannot be saved.

    In order: a time without a time zone, an empty or backwards shift, one that runs past
    midnight, a leader who is unknown, inactive or unreachable, a start in the past (a
    running shift keeps its start), and an overlap with any of `others` (itself excluded).
    """
    check_times(shift.starts_at, shift.ends_at, zone)
    check_note(shift.note)
    check_on_duty(shift.leader_id, leaders)
    _check_not_past(shift, before, now, zone)
    for other in others:
        if other.id != shift.id and other.overlaps(shift):
            leader = leaders.get(other.leader_id)
            whose = f"{leader.name}'s shift" if leader else f"shift {other.id}"
            raise ShiftOverlap(
                f"the shift {span(shift, zone)} overlaps {whose} {span(other, zone)}: "
                "only one leader can be on duty at a time"
            )


def check_times(starts_at: datetime, ends_at: datetime, zone: tzinfo) -> None:
    """Refuse naive times, a shift that does not end after it starts, or one past 24:00."""
    for label, value in (("start", starts_at), ("end", ends_at)):
        if value.utcoffset() is None:
            raise InvalidShift(
                f"the {label} time {value:%Y-%m-%d %H:%M} has no time zone: "
                "add an offset such as +08:00 (Beijing time) or Z (UTC)"
            )
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    if end < start:
        raise InvalidShift(f"the shift ends ({_local(end)}) before it starts ({_local(start)})")
    if end == start:
        raise InvalidShift(f"the shift ends when it starts ({_local(start)}): it has no length")
    midnight = datetime.combine(start.date() + timedelta(days=1), time(), tzinfo=zone)
    if end > midnight:
        raise InvalidShift(
            f"the shift {_local(start)} – {_local(end)} runs past midnight: a shift ends on "
            "the day it starts (24:00 at the latest); split it into two"
        )


def check_note(note: str) -> None:
    """Refuse an overlong note."""
    if len(note) > MAX_NOTE:
        raise InvalidShift(f"the note must be at most {MAX_NOTE} characters")


def check_on_duty(leader_id: int, leaders: Mapping[int, Leader]) -> Leader:
    """The leader a shift names, if they exist, are active and can be reached."""
    leader = leaders.get(leader_id)
    if leader is None:
        raise LeaderUnavailable(f"there is no leader with id {leader_id}")
    if not leader.active:
        raise LeaderUnavailable(
            f"leader {leader.name} is inactive: reactivate them or choose another leader"
        )
    if not leader.endpoints:
        raise InvalidLeader(f"leader {leader.name} has no endpoint to be reached at")
    return leader


def _check_not_past(shift: Shift, before: Shift | None, now: datetime, zone: tzinfo) -> None:
    if before is not None and before.ends_at <= now:
        raise InvalidShift(
            f"the shift {span(before, zone)} is over: past shifts are kept as they were"
        )
    moved = before is None or before.starts_at != shift.starts_at
    if moved and shift.starts_at < now:
        raise InvalidShift(
            f"the shift would start in the past ({_local(shift.starts_at.astimezone(zone))}, "
            f"now is {_local(now.astimezone(zone))}): shifts are planned ahead"
        )
    if shift.ends_at <= now:
        raise InvalidShift(f"the shift would end in the past ({span(shift, zone)})")


def labelled_problems(
    batch: Sequence[tuple[str, Shift]],
    existing: Sequence[Shift],
    leaders: Mapping[int, Leader],
    *,
    now: datetime,
    zone: tzinfo,
) -> list[str]:
    """Every new shift of `batch` checked against `existing` and the batch's earlier ones.

    One message per bad item, prefixed with its label ("row 3: ..."), so a file is judged
    whole rather than stopping at its first mistake.
    """
    problems: list[str] = []
    accepted: list[tuple[str, Shift]] = []
    for label, shift in batch:
        try:
            check_shift(shift, leaders, existing, now=now, zone=zone)
        except ScheduleError as exc:
            problems.append(f"{label}: {exc}")
            continue
        clash = next((seen for seen, other in accepted if other.overlaps(shift)), None)
        if clash is not None:
            problems.append(f"{label}: the shift {span(shift, zone)} overlaps {clash}")
            continue
        accepted.append((label, shift))
    return problems


def span(shift: Shift, zone: tzinfo) -> str:
    """A shift's time as the office reads it: `2025-03-05 09:00–12:00` (local time)."""
    start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    if end.date() == start.date():
        until = f"{end:%H:%M}"
    elif end == datetime.combine(start.date() + timedelta(days=1), time(), tzinfo=zone):
        until = "24:00"
    else:  # only a shift that validation has yet to refuse runs into another day
        until = _local(end)
    return f"{start:%Y-%m-%d %H:%M}–{until}"


def _local(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M}"
