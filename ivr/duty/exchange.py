"""The schedule as files for the leaders' offices: CSV (for Excel) and iCalendar (.ics).

CSV, one shift a row, times in the office's time zone (Beijing time):

    date,start,end,leader,title,endpoints,note
    2025-03-05,09:00,12:00,王伟,副市长,PJSIP/8001 PJSIP/8002,市长接听日

`date` is YYYY-MM-DD (Excel's YYYY/M/D is read too), `start`/`end` are 24-hour HH:MM and
`end` may be 24:00. `leader` must name a leader already on the list; `title` and
`endpoints` (space-separated dial strings) are written for the reader and ignored on import.
The header may also be in Chinese (日期,开始,结束,领导,职务,联系方式,备注) and columns may come
in any order. Export is UTF-8 with a byte-order mark so Excel shows the Chinese; import takes
UTF-8 (with or without the mark) or GB18030, what Chinese Excel saves as plain "CSV".
Rows are numbered as Excel numbers them: the header is row 1. Cells starting with = + - @
are written with a leading apostrophe so Excel never runs them as formulas.

iCalendar lives in ivr.duty.ical; both readers return `ImportedShift`s for `plan_import`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from ivr.duty.ical import read_ics, write_ics
from ivr.duty.importing import ImportedShift, leader_named
from ivr.duty.model import UNSAVED, Leader, Shift
from ivr.duty.validate import check_note, check_times
from ivr.errors import ImportRejected, ScheduleError

__all__ = ["CSV_HEADER", "read_csv", "read_ics", "write_csv", "write_ics"]

CSV_HEADER = ("date", "start", "end", "leader", "title", "endpoints", "note")
CHINESE_HEADER = ("日期", "开始", "结束", "领导", "职务", "联系方式", "备注")
REQUIRED = ("date", "start", "end", "leader")
BOM = "\ufeff"
_ALIASES = dict(zip(CHINESE_HEADER, CSV_HEADER, strict=True)) | {c: c for c in CSV_HEADER}
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_csv(shifts: Iterable[Shift], leaders: Mapping[int, Leader], zone: tzinfo) -> bytes:
    """The shifts as CSV for Excel: UTF-8 with BOM, CRLF line ends, in start order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for shift in sorted(shifts, key=lambda s: s.starts_at):
        writer.writerow(_safe(cell) for cell in _csv_row(shift, leaders, zone))
    return (BOM + out.getvalue()).encode("utf-8")


def _csv_row(shift: Shift, leaders: Mapping[int, Leader], zone: tzinfo) -> list[str]:
    start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    until = "24:00" if end.date() > start.date() else f"{end:%H:%M}"
    leader = leaders.get(shift.leader_id)
    name, title = (leader.name, leader.title) if leader else (f"#{shift.leader_id}", "")
    endpoints = " ".join(leader.endpoints) if leader else ""
    return [f"{start:%Y-%m-%d}", f"{start:%H:%M}", until, name, title, endpoints, shift.note]


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _unsafe(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


def read_csv(data: bytes, leaders: Sequence[Leader], zone: tzinfo) -> list[ImportedShift]:
    """The file's shifts, or ImportRejected listing every bad row ("row 3: ...")."""
    records = _records(_decode(data))
    if not records:
        raise ImportRejected(["the file is empty: the first row must be the header"])
    columns = _columns(records[0][1])
    by_name = {leader.name: leader for leader in leaders}
    shifts: list[ImportedShift] = []
    problems: list[str] = []
    for number, fields in records[1:]:
        if not any(cell.strip() for cell in fields):
            continue  # Excel leaves empty rows behind
        try:
            shift = _row_shift(fields, columns, by_name, zone)
        except ScheduleError as exc:
            problems.append(f"row {number}: {exc}")
        else:
            shifts.append(ImportedShift(f"row {number}", shift))
    if problems:
        raise ImportRejected(problems)
    if not shifts:
        raise ImportRejected(["the file holds no shifts, only its header"])
    return shifts


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Chinese Excel saves "CSV (逗号分隔)" in the ANSI code page, GBK/GB18030.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportRejected(["the file is neither UTF-8 nor GB18030 text"]) from None
    return text.removeprefix(BOM)


def _records(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            records.append((len(records) + 1, fields))
    except csv.Error as exc:
        raise ImportRejected([f"row {len(records) + 1}: not readable as CSV ({exc})"]) from None
    return records


def _columns(header: list[str]) -> dict[str, int]:
    names = [cell.strip().lower() for cell in header]
    unknown = [name for name in names if name not in _ALIASES]
    if unknown:
        raise ImportRejected(
            [f"row 1: unknown column {unknown[0]!r}: the header is {','.join(CSV_HEADER)}"]
        )
    columns = {_ALIASES[name]: index for index, name in enumerate(names)}
    missing = [name for name in REQUIRED if name not in columns]
    if missing or len(columns) < len(names):
        raise ImportRejected(
            [f"row 1: the header needs each of {','.join(REQUIRED)} once (see the export)"]
        )
    return columns


def _row_shift(
    fields: list[str], columns: dict[str, int], by_name: Mapping[str, Leader], zone: tzinfo
) -> Shift:
    if any(cell.strip() for cell in fields[len(columns) :]):
        raise ScheduleError(f"{len(fields)} cells, but the header has {len(columns)} columns")

    def cell(name: str) -> str:
        index = columns.get(name)
        return _unsafe(fields[index].strip()) if index is not None and index < len(fields) else ""

    day = _parse_date(cell("date"))
    starts_at = datetime.combine(day, _parse_time(cell("start"), "start"), tzinfo=zone)
    end = cell("end")
    ends_at = (
        datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
        if end == "24:00"
        else datetime.combine(day, _parse_time(end, "end"), tzinfo=zone)
    )
    check_times(starts_at, ends_at, zone)
    note = cell("note")
    check_note(note)
    leader = leader_named(cell("leader"), by_name)
    return Shift(UNSAVED, leader.id, starts_at, ends_at, note)


def _parse_date(text: str) -> date:
    found = _DATE.fullmatch(text)
    try:
        if found is None:
            raise ValueError
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        shown = repr(text) if text else "(empty)"
        raise ScheduleError(f"date {shown} is not a date: write YYYY-MM-DD") from None


def _parse_time(text: str, label: str) -> time:
    found = _TIME.fullmatch(text)
    try:
        if found is None:
            raise ValueError
        hour, minute, second = found.groups()
        return time(int(hour), int(minute), int(second or 0))
    except ValueError:
        shown = repr(text) if text else "(empty)"
        raise ScheduleError(f"{label} {shown} is not a time: write HH:MM (24-hour)") from None
