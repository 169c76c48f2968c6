"""The duty API's JSON: leaders, shifts and holidays out, request bodies in, errors mapped.

Times go out in the office's time zone with their offset (`2025-03-05T09:00:00+08:00`) and
as local `date`/`start`/`end` for pages. Times come in either way: `starts_at`/`ends_at`
with an offset (a time without one is refused: whose clock would it be?), or `date` with
`start` and `end`, read as the office's local time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, TypedDict, TypeVar

from aiohttp import web

from ivr.db.duty_audit import AuditEntry
from ivr.duty.holidays import Holiday
from ivr.duty.model import UNSAVED, Leader, Shift
from ivr.duty.months import parse_month
from ivr.errors import ImportRejected, RecordNotFound, ScheduleError, ShiftOverlap
from ivr.web.guard import logged_in
from ivr.web.state import clock_key, policy_key

T = TypeVar("T")


class ShiftEdit(TypedDict):
    """Who changes shifts, when, and in which zone: the shift functions' keywords."""

    actor: str
    now: datetime
    zone: tzinfo


def shift_edit(request: web.Request) -> ShiftEdit:
    """The logged-in user, the app's clock now and the office's zone, as `**shift_edit(...)`."""
    app = request.config_dict
    return ShiftEdit(
        actor=logged_in(request).user.username, now=app[clock_key](), zone=app[policy_key].timezone
    )


@contextlib.contextmanager
def schedule_errors() -> Iterator[None]:
    """Turn the schedule's refusals into HTTP errors: 404 unknown, 409 overlap, else 400
    (a refused batch, ImportRejected, is left to the handler: see `rejected`)."""
    try:
        yield
    except RecordNotFound as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    except ShiftOverlap as exc:
        raise web.HTTPConflict(text=str(exc)) from exc
    except ImportRejected:
        raise  # the handler answers with every problem (`rejected`)
    except ScheduleError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc


def rejected(exc: ImportRejected, what: str) -> web.Response:
    """400 with every problem of a refused batch, one per bad row, and a summary."""
    problems = list(exc.problems)
    message = f"{what}: nothing was saved. " + "; ".join(problems)
    return web.json_response({"error": message, "problems": problems}, status=400)


def leader_out(leader: Leader) -> dict[str, Any]:
    """A leader as the API shows it."""
    return {
        "id": leader.id,
        "name": leader.name,
        "title": leader.title,
        "endpoints": list(leader.endpoints),
        "active": leader.active,
    }


def shift_out(shift: Shift, leaders: Mapping[int, Leader], zone: tzinfo) -> dict[str, Any]:
    """A shift as the API shows it, with its leader's name and local date and times."""
    start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    leader = leaders.get(shift.leader_id)
    return {
        "id": shift.id,
        "leader_id": shift.leader_id,
        "leader": leader.name if leader else None,
        "title": leader.title if leader else None,
        "leader_active": bool(leader and leader.active),
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "date": start.date().isoformat(),
        "start": f"{start:%H:%M}",
        "end": "24:00" if end.date() > start.date() else f"{end:%H:%M}",
        "note": shift.note,
    }


def holiday_out(holiday: Holiday) -> dict[str, Any]:
    """A holiday-list entry as the API shows it."""
    return {"day": holiday.day.isoformat(), "name": holiday.name, "kind": holiday.kind.value}


def audit_out(entry: AuditEntry, zone: tzinfo) -> dict[str, Any]:
    """An audit-log entry as the API shows it."""
    return {
        "id": entry.id,
        "at": entry.at.astimezone(zone).isoformat(),
        "actor": entry.actor,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "action": entry.action,
        "before": entry.before,
        "after": entry.after,
    }


def shift_in(body: Mapping[str, Any], zone: tzinfo, *, partial: bool = False) -> dict[str, Any]:
    """The shift fields a body gives: leader_id, starts_at, ends_at, note (400 if malformed)."""
    fields: dict[str, Any] = {}
    if "leader_id" in body or not partial:
        fields["leader_id"] = integer(body.get("leader_id"), "leader_id")
    if "note" in body:
        fields["note"] = text(body["note"], "note").strip()
    local = any(key in body for key in ("date", "start", "end"))
    aware = any(key in body for key in ("starts_at", "ends_at"))
    if aware or (not local and not partial):
        for key in ("starts_at", "ends_at"):
            if key in body or not partial:
                fields[key] = aware_time(body.get(key), key)
    if local:
        span = local_span(body, zone)
        # A shift as the API returned it carries both; they must then say the same.
        if aware and (fields.get("starts_at"), fields.get("ends_at")) != span:
            raise web.HTTPBadRequest(text="starts_at/ends_at and date/start/end disagree")
        fields["starts_at"], fields["ends_at"] = span
    return fields


def draft_of(fields: Mapping[str, Any]) -> Shift:
    """An unsaved shift from the fields of a complete body."""
    return Shift(
        UNSAVED, fields["leader_id"], fields["starts_at"], fields["ends_at"], fields.get("note", "")
    )


def aware_time(value: object, key: str) -> datetime:
    """An ISO 8601 time with its offset; 400 for anything else, naive times included."""
    raw = text(value, key)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text=f"{key} {raw!r} is not an ISO 8601 time such as 2025-03-05T09:00:00+08:00"
        ) from None
    if parsed.utcoffset() is None:
        raise web.HTTPBadRequest(
            text=f"{key} {raw!r} has no time zone: add an offset such as +08:00 or Z"
        )
    return parsed


def local_span(body: Mapping[str, Any], zone: tzinfo) -> tuple[datetime, datetime]:
    """`date`, `start` and `end` (local wall time, `end` may be 24:00) as aware times."""
    day = a_date(body.get("date"), "date")
    start = datetime.combine(day, a_time(body.get("start"), "start"), tzinfo=zone)
    if text(body.get("end"), "end") == "24:00":
        return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start, datetime.combine(day, a_time(body.get("end"), "end"), tzinfo=zone)


def a_date(value: object, key: str) -> date:
    """A YYYY-MM-DD date, or 400."""
    return _parsed(value, key, date.fromisoformat, "a date: write YYYY-MM-DD")


def a_time(value: object, key: str) -> time:
    """An HH:MM time of day, or 400."""
    return _parsed(value, key, time.fromisoformat, "a time: write HH:MM")


def _parsed(value: object, key: str, parse: Callable[[str], T], what: str) -> T:
    raw = text(value, key)
    try:
        return parse(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{key} {raw!r} is not {what}") from None


def a_month(value: str | None, default: date) -> date:
    """The first day of a `YYYY-MM` month (the default when absent), or 400."""
    if value is None or value == "":
        return default
    with schedule_errors():
        return parse_month(value)


def integer(value: object, key: str, low: int = 1, high: int = 2**31 - 1) -> int:
    """A whole number in [low, high], or 400 naming the field."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise web.HTTPBadRequest(text=f"{key} must be a whole number from {low} to {high}")
    return value


def query_number(request: web.Request, key: str, default: int, high: int, low: int = 1) -> int:
    """A whole number from the query string (the default when absent), or 400."""
    raw = request.query.get(key, str(default))
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None
    return integer(number, key, low, high)


def text(value: object, key: str) -> str:
    """A string field, or 400 naming the field."""
    if not isinstance(value, str):
        raise web.HTTPBadRequest(text=f"{key} must be text")
    return value


def endpoints_in(value: object) -> list[str]:
    """A list of dial strings, or one string of them separated by spaces."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    raise web.HTTPBadRequest(text="endpoints must be a list of dial strings such as PJSIP/8001")
