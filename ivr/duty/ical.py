"""iCalendar (RFC 5545) for the duty schedule: one VEVENT per shift, written and read here.

Written: times in UTC (`DTSTART:20250305T010000Z`, no VTIMEZONE needed), a UID stable per
shift (`duty-shift-<id>@ivr-12345`, so calendars update an event rather than add another),
text escaped (\\ ; , and new lines), CRLF line ends, lines folded at 75 octets without
splitting a UTF-8 character. `X-IVR-LEADER` carries the leader's exact name for the import.
Read: UTC times or times with a TZID; a floating time (no zone) or an all-day event is
refused, events are numbered in file order ("event 2: ..."), cancelled events are skipped.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.duty.importing import ImportedShift, leader_named
from ivr.duty.model import UNSAVED, Leader, Shift
from ivr.errors import ImportRejected, InvalidShift, ScheduleError

CRLF = "\r\n"
MAX_OCTETS = 75
PRODID = "-//12345 hotline//ivr duty schedule//ZH"
CALENDAR_NAME = "12345 热线领导接听安排"
UID_DOMAIN = "ivr-12345"
SUMMARY_PREFIX = "领导接听："
# Zone names Outlook and Windows write instead of IANA ones.
_ZONE_ALIASES = {"China Standard Time": "Asia/Shanghai"}
_DATE_TIME = re.compile(r"^(\d{8}T\d{6})(Z?)$")
_UNESCAPE = re.compile(r"\\([\\;,nN])")


@dataclasses.dataclass(frozen=True)
class ContentLine:
    """One unfolded line: `NAME;PARAM=value:value`, the name and parameter names upper-case."""

    name: str
    params: Mapping[str, str]
    value: str


def write_ics(shifts: Iterable[Shift], leaders: Mapping[int, Leader], *, stamp: datetime) -> bytes:
    """The shifts as an iCalendar file; `stamp` (DTSTAMP) is when it was made."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(CALENDAR_NAME)}",
    ]
    for shift in sorted(shifts, key=lambda s: s.starts_at):
        lines += _event(shift, leaders.get(shift.leader_id), stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines).encode("utf-8")


def _event(shift: Shift, leader: Leader | None, stamp: datetime) -> list[str]:
    name = leader.name if leader else f"#{shift.leader_id}"
    title = f"（{leader.title}）" if leader and leader.title else ""
    lines = [
        "BEGIN:VEVENT",
        f"UID:duty-shift-{shift.id}@{UID_DOMAIN}",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART:{_utc(shift.starts_at)}",
        f"DTEND:{_utc(shift.ends_at)}",
        f"SUMMARY:{escape_text(SUMMARY_PREFIX + name + title)}",
        f"X-IVR-LEADER:{escape_text(name)}",
    ]
    if leader and leader.endpoints:
        lines.append(f"X-IVR-ENDPOINTS:{escape_text(' '.join(leader.endpoints))}")
    if shift.note:
        lines.append(f"DESCRIPTION:{escape_text(shift.note)}")
    return [*lines, "END:VEVENT"]


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def escape_text(value: str) -> str:
    """A TEXT value escaped: backslash, semicolon, comma and new lines."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n")


def unescape_text(value: str) -> str:
    """The text an escaped TEXT value stands for."""
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def fold(line: str) -> str:
    """The line folded into chunks of at most 75 octets, continuations starting with a space."""
    chunks: list[str] = []
    current, size, limit = "", 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            chunks.append(current)
            current, size, limit = "", 0, MAX_OCTETS - 1  # the leading space counts
        current += char
        size += width
    chunks.append(current)
    return (CRLF + " ").join(chunks)


def unfold(text: str) -> list[str]:
    """The logical lines of a file, CRLF or bare LF, folded lines joined again."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    return lines


def parse_line(line: str) -> ContentLine:
    """A content line split into name, parameters and value (quoted parameters allowed)."""
    quoted, cut = False, -1
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            cut = index
            break
    if cut < 0:
        raise ScheduleError(f"line {line[:40]!r} is not an iCalendar content line")
    name, *params = _split_params(line[:cut])
    pairs = (p.split("=", 1) for p in params if "=" in p)
    parsed = {key.upper(): value.strip('"') for key, value in pairs}
    return ContentLine(name.upper(), parsed, line[cut + 1 :])


def _split_params(head: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in head:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def read_ics(data: bytes, leaders: Sequence[Leader]) -> list[ImportedShift]:
    """The file's shifts, or ImportRejected listing every bad event ("event 2: ...")."""
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ImportRejected(["the calendar is not UTF-8 text"]) from None
    by_name = {leader.name: leader for leader in leaders}
    shifts: list[ImportedShift] = []
    problems: list[str] = []
    try:
        events = list(_events(unfold(text)))
    except ScheduleError as exc:
        raise ImportRejected([str(exc)]) from None
    for number, props in enumerate(events, start=1):
        if props.get("STATUS", ContentLine("", {}, "")).value.upper() == "CANCELLED":
            continue
        try:
            shifts.append(ImportedShift(f"event {number}", _shift_of(props, by_name)))
        except ScheduleError as exc:
            problems.append(f"event {number}: {exc}")
    if problems:
        raise ImportRejected(problems)
    if not shifts:
        raise ImportRejected(["the calendar holds no events"])
    return shifts


def _events(lines: list[str]) -> Iterator[dict[str, ContentLine]]:
    if not lines or lines[0].strip().upper() != "BEGIN:VCALENDAR":
        raise ScheduleError("the file is not an iCalendar file: it must start with BEGIN:VCALENDAR")
    stack: list[str] = []
    props: dict[str, ContentLine] = {}
    for raw in lines:
        line = parse_line(raw)
        if line.name == "BEGIN":
            stack.append(line.value.upper())
            props = {} if stack[-1] == "VEVENT" else props
        elif line.name == "END":
            if not stack or stack.pop() != line.value.upper():
                raise ScheduleError(f"END:{line.value} does not close what was begun")
            if line.value.upper() == "VEVENT":
                yield props
        elif stack and stack[-1] == "VEVENT":
            props.setdefault(line.name, line)  # the first of a repeated property counts
    if stack:
        raise ScheduleError(f"the file ends inside {stack[-1]}: it is cut short")


def _shift_of(props: Mapping[str, ContentLine], leaders: Mapping[str, Leader]) -> Shift:
    starts_at = _when(props, "DTSTART")
    ends_at = _when(props, "DTEND")
    named = props.get("X-IVR-LEADER")
    if named is not None:
        name = unescape_text(named.value)
    else:
        name = _name_in_summary(unescape_text(props.get("SUMMARY", ContentLine("", {}, "")).value))
    note = unescape_text(props["DESCRIPTION"].value) if "DESCRIPTION" in props else ""
    return Shift(UNSAVED, leader_named(name, leaders).id, starts_at, ends_at, note.strip())


def _name_in_summary(summary: str) -> str:
    name = summary.strip().removeprefix(SUMMARY_PREFIX)
    return re.sub(r"\s*[（(][^）)]*[）)]$", "", name)


def _when(props: Mapping[str, ContentLine], name: str) -> datetime:
    line = props.get(name)
    if line is None:
        raise InvalidShift(f"no {name}: every event needs a start and an end time")
    if line.params.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", line.value):
        raise InvalidShift(f"{name} {line.value} is a whole day: a shift needs times of day")
    found = _DATE_TIME.fullmatch(line.value.strip())
    if found is None:
        raise InvalidShift(f"{name} {line.value!r} is not a date-time like 20250305T010000Z")
    local = datetime.strptime(found.group(1), "%Y%m%dT%H%M%S")
    if found.group(2):
        return local.replace(tzinfo=UTC)
    tzid = line.params.get("TZID")
    if tzid is None:
        raise InvalidShift(
            f"{name} {line.value} has no time zone (a floating time): give it in UTC "
            "(ending in Z) or with TZID=Asia/Shanghai"
        )
    return local.replace(tzinfo=_zone(tzid))


def _zone(tzid: str) -> ZoneInfo:
    key = _ZONE_ALIASES.get(tzid, tzid.lstrip("/"))
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidShift(
            f"time zone {tzid!r} is unknown: use an IANA name such as Asia/Shanghai"
        ) from None
