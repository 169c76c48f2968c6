"""Schedule files: CSV for Excel and iCalendar, both ways, and what an import replaces.

Each malformed row is refused with its number and the reason, and one bad row refuses the
whole file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.duty.exchange import CSV_HEADER, read_csv, read_ics, write_csv, write_ics
from ivr.duty.ical import escape_text, fold, unescape_text, unfold
from ivr.duty.importing import ImportedShift, plan_import
from ivr.duty.model import UNSAVED, Leader, Shift
from ivr.errors import ImportRejected

BEIJING = ZoneInfo("Asia/Shanghai")
WANG = Leader(1, "王伟", "副市长", ("PJSIP/8001", "PJSIP/13800000000@trunk"), True)
LI = Leader(2, "李娜", "秘书长", ("PJSIP/8002",), True)
ZHAO = Leader(3, "赵刚", "副市长", ("PJSIP/8003",), False)
LEADERS = [WANG, LI, ZHAO]
BY_ID = {x.id: x for x in LEADERS}
STAMP = datetime(2031, 2, 20, 3, 0, tzinfo=UTC)
HEADER = ",".join(CSV_HEADER)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of March 2031, Beijing time."""
    return datetime(2031, 3, day, tzinfo=BEIJING) + timedelta(hours=hour, minutes=minute)


SCHEDULE = [
    Shift(11, WANG.id, at(5, 9), at(5, 12), '市长接听日, 重点：供暖; "老旧小区"'),
    Shift(12, LI.id, at(19, 14, 30), at(19, 24), "第二行\n换行"),
    Shift(13, WANG.id, at(26, 9), at(26, 12), '=HYPERLINK("http://x")'),
]


def unsaved(shifts: list[ImportedShift]) -> list[Shift]:
    """What was read, as it will be saved."""
    return [row.shift for row in shifts]


def csv_of(*rows: str, header: str = HEADER) -> bytes:
    """A CSV file of the header and rows, CRLF line ends."""
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


def expected(shifts: list[Shift]) -> list[Shift]:
    """The shifts as a file gives them back: not saved yet."""
    return [Shift(UNSAVED, s.leader_id, s.starts_at, s.ends_at, s.note) for s in shifts]


# --- CSV ------------------------------------------------------------------------------


def test_csv_export_is_excel_friendly() -> None:
    data = write_csv(reversed(SCHEDULE), BY_ID, BEIJING)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == HEADER
    assert lines[1] == (
        "2031-03-05,09:00,12:00,王伟,副市长,PJSIP/8001 PJSIP/13800000000@trunk,"
        '"市长接听日, 重点：供暖; ""老旧小区"""'
    )
    assert lines[2].startswith('2031-03-19,14:30,24:00,李娜,秘书长,PJSIP/8002,"第二行\n换行"')
    assert "'=HYPERLINK" in text  # never a live formula in Excel


def test_csv_round_trip() -> None:
    back = read_csv(write_csv(SCHEDULE, BY_ID, BEIJING), LEADERS, BEIJING)
    assert unsaved(back) == expected(SCHEDULE)
    assert [row.label for row in back] == ["row 2", "row 3", "row 4"]


def test_csv_as_excel_saves_it_gb18030_chinese_header_reordered_columns() -> None:
    text = "领导,日期,开始,结束,备注\r\n王伟,2031/3/5,9:00,12:00,\r\n,,,,\r\n"
    back = read_csv(text.encode("gb18030"), LEADERS, BEIJING)
    assert unsaved(back) == [Shift(UNSAVED, WANG.id, at(5, 9), at(5, 12))]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            "2031-02-30,09:00,12:00,王伟,,,",
            "row 2: date '2031-02-30' is not a date: write YYYY-MM-DD",
        ),
        ("05/03/2031,09:00,12:00,王伟,,,", "row 2: date '05/03/2031' is not a date"),
        (",09:00,12:00,王伟,,,", "row 2: date (empty) is not a date"),
        ("2031-03-05,9am,12:00,王伟,,,", "row 2: start '9am' is not a time: write HH:MM (24-hour)"),
        ("2031-03-05,09:00,25:00,王伟,,,", "row 2: end '25:00' is not a time"),
        (
            "2031-03-05,12:00,09:00,王伟,,,",
            "row 2: the shift ends (2031-03-05 09:00) before it starts (2031-03-05 12:00)",
        ),
        ("2031-03-05,09:00,09:00,王伟,,,", "row 2: the shift ends when it starts"),
        (
            "2031-03-05,09:00,12:00,张三,,,",
            "row 2: unknown leader '张三': add them to the leaders first",
        ),
        ("2031-03-05,09:00,12:00,,,,", "row 2: no leader is named"),
        ("2031-03-05,09:00,12:00,王伟,,,,extra", "row 2: 8 cells, but the header has 7 columns"),
        (
            '2031-03-05,09:00,12:00,王伟,,,"' + "x" * 501 + '"',
            "row 2: the note must be at most 500",
        ),
    ],
)
def test_a_malformed_csv_row_is_refused_with_its_number(row: str, problem: str) -> None:
    good = "2031-03-06,09:00,12:00,李娜,,,"
    with pytest.raises(ImportRejected) as refused:
        read_csv(csv_of(row, good), LEADERS, BEIJING)
    assert len(refused.value.problems) == 1
    assert refused.value.problems[0].startswith(problem)


def test_every_bad_row_is_reported_at_once() -> None:
    data = csv_of(
        "2031-03-05,09:00,12:00,王伟,,,",
        "2031-03-06,09:00,12:00,张三,,,",
        "",
        "2031-03-07,nine,12:00,李娜,,,",
    )
    with pytest.raises(ImportRejected) as refused:
        read_csv(data, LEADERS, BEIJING)
    assert [p.split(":")[0] for p in refused.value.problems] == ["row 3", "row 5"]
    assert str(refused.value).startswith("row 3: unknown leader '张三'")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "the file is empty"),
        (csv_of(), "the file holds no shifts, only its header"),
        (csv_of(header="date,start,end,who"), "row 1: unknown column 'who'"),
        (
            csv_of(header="date,start,leader"),
            "row 1: the header needs each of date,start,end,leader",
        ),
        (csv_of(header="date,start,end,leader,日期"), "row 1: the header needs each of"),
        (csv_of('2031-03-05,09:00,12:00,王伟,,,"unclosed'), "row 2: not readable as CSV"),
        (b"\xff\xfe\x00d\x00a", "the file is neither UTF-8 nor GB18030 text"),
    ],
)
def test_files_that_are_not_a_schedule_are_refused(data: bytes, problem: str) -> None:
    with pytest.raises(ImportRejected) as refused:
        read_csv(data, LEADERS, BEIJING)
    assert refused.value.problems[0].startswith(problem)


# --- iCalendar ------------------------------------------------------------------------


def test_ics_export_follows_rfc_5545() -> None:
    data = write_ics(SCHEDULE, BY_ID, stamp=STAMP)
    text = data.decode("utf-8")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")  # CRLF everywhere
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    logical = unfold(text)
    assert "UID:duty-shift-11@ivr-12345" in logical
    assert "DTSTART:20310305T010000Z" in logical and "DTEND:20310305T040000Z" in logical
    assert "DTEND:20310319T160000Z" in logical  # 24:00 Beijing
    assert "DTSTAMP:20310220T030000Z" in logical
    assert "SUMMARY:领导接听：王伟（副市长）" in logical
    assert 'DESCRIPTION:市长接听日\\, 重点：供暖\\; "老旧小区"' in logical
    assert "DESCRIPTION:第二行\\n换行" in logical


def test_ics_uids_are_stable_per_shift() -> None:
    first = write_ics(SCHEDULE, BY_ID, stamp=STAMP).decode()
    moved = [Shift(11, LI.id, at(6, 9), at(6, 12))]
    again = write_ics(moved, BY_ID, stamp=STAMP + timedelta(days=1)).decode()
    assert "UID:duty-shift-11@ivr-12345" in unfold(first)
    assert "UID:duty-shift-11@ivr-12345" in unfold(again)


def test_long_lines_fold_between_characters_and_unfold_back() -> None:
    shift = Shift(14, WANG.id, at(5, 9), at(5, 12), "重点关注" * 40)
    text = write_ics([shift], BY_ID, stamp=STAMP).decode("utf-8")  # would fail mid-character
    assert any(line.startswith(" ") for line in text.split("\r\n"))
    assert unsaved(read_ics(text.encode(), LEADERS))[0].note == "重点关注" * 40


def test_ics_round_trip() -> None:
    back = read_ics(write_ics(SCHEDULE, BY_ID, stamp=STAMP), LEADERS)
    assert unsaved(back) == expected(SCHEDULE)
    assert [row.label for row in back] == ["event 1", "event 2", "event 3"]


def calendar_of(*events: list[str]) -> bytes:
    """A calendar file (bare LF line ends, as some tools write) holding the events."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0"]
    for event in events:
        lines += ["BEGIN:VEVENT", *event, "END:VEVENT"]
    return "\n".join([*lines, "END:VCALENDAR", ""]).encode()


def test_ics_from_other_calendars_with_tzid_summary_and_cancelled_events() -> None:
    data = calendar_of(
        [
            "DTSTART;TZID=Asia/Shanghai:20310305T090000",
            "DTEND;TZID=Asia/Shanghai:20310305T120000",
            "SUMMARY:领导接听：王伟（副市长）",
            "BEGIN:VALARM",
            "TRIGGER:-PT15M",
            "END:VALARM",
        ],
        [
            'DTSTART;TZID="China Standard Time":20310306T090000',
            "DTEND;TZID=China Standard Time:20310306T120000",
            "SUMMARY:李娜",
            "STATUS:CANCELLED",
        ],
        ["DTSTART:20310307T010000Z", "DTEND:20310307T040000Z", "SUMMARY:李娜 (秘书长)"],
    )
    assert unsaved(read_ics(data, LEADERS)) == [
        Shift(UNSAVED, WANG.id, at(5, 9), at(5, 12)),
        Shift(UNSAVED, LI.id, at(7, 9), at(7, 12)),
    ]


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (
            ["DTSTART:20310305T090000", "DTEND:20310305T120000"],
            "event 1: DTSTART 20310305T090000 has no time zone (a floating time)",
        ),
        (
            ["DTSTART;VALUE=DATE:20310305", "DTEND;VALUE=DATE:20310306"],
            "event 1: DTSTART 20310305 is a whole day",
        ),
        (["DTSTART:20310305T010000Z"], "event 1: no DTEND"),
        (
            ["DTSTART:2031-03-05 09:00", "DTEND:20310305T040000Z"],
            "event 1: DTSTART '2031-03-05 09:00' is not a date-time",
        ),
        (
            ["DTSTART;TZID=Mars/Olympus:20310305T090000", "DTEND:20310305T040000Z"],
            "event 1: time zone 'Mars/Olympus' is unknown",
        ),
        (
            ["DTSTART:20310305T010000Z", "DTEND:20310305T040000Z", "X-IVR-LEADER:张三"],
            "event 1: unknown leader '张三'",
        ),
    ],
)
def test_a_bad_event_is_refused_with_its_number(event: list[str], problem: str) -> None:
    with pytest.raises(ImportRejected) as refused:
        read_ics(calendar_of(event), LEADERS)
    assert refused.value.problems == (refused.value.problems[0],)
    assert refused.value.problems[0].startswith(problem)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"date,start\r\n", "the file is not an iCalendar file"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20310305T010000Z\r\n",
            "the file ends inside VEVENT",
        ),
        (b"BEGIN:VCALENDAR\r\nEND:VEVENT\r\n", "END:VEVENT does not close"),
        (b"BEGIN:VCALENDAR\r\nno colon here\r\nEND:VCALENDAR\r\n", "line 'no colon here' is not"),
        (calendar_of(), "the calendar holds no events"),
        (b"\xff\xfe", "the calendar is not UTF-8 text"),
    ],
)
def test_files_that_are_not_calendars_are_refused(data: bytes, problem: str) -> None:
    with pytest.raises(ImportRejected) as refused:
        read_ics(data, LEADERS)
    assert refused.value.problems[0].startswith(problem)


@settings(deadline=None, max_examples=300)
@given(st.text(max_size=300))
def test_escaping_and_folding_lose_nothing(value: str) -> None:
    value = value.replace("\r", "")  # a bare CR is no text a form can hold
    line = "DESCRIPTION:" + escape_text(value)
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert unfold(folded + "\r\n") == [line]
    assert unescape_text(escape_text(value)) == value


# --- what an import replaces ----------------------------------------------------------

NOW = at(10, 10, 30)  # during a 10:00-12:00 shift on the 10th


def rows(*shifts: Shift) -> list[ImportedShift]:
    """Shifts as rows 2, 3, ... of a file."""
    return [ImportedShift(f"row {n}", s) for n, s in enumerate(shifts, start=2)]


def test_an_import_replaces_the_future_of_its_months_and_keeps_the_past() -> None:
    past = Shift(1, WANG.id, at(3, 9), at(3, 12))
    running = Shift(2, LI.id, at(10, 10), at(10, 12))
    future = Shift(3, WANG.id, at(20, 9), at(20, 12))
    april = Shift(
        4, LI.id, datetime(2031, 4, 7, 9, tzinfo=BEIJING), datetime(2031, 4, 7, 12, tzinfo=BEIJING)
    )
    new = Shift(UNSAVED, LI.id, at(24, 9), at(24, 12))
    same_past = Shift(UNSAVED, WANG.id, past.starts_at, past.ends_at)
    plan = plan_import(
        rows(same_past, new), [past, running, future, april], BY_ID, now=NOW, zone=BEIJING
    )
    assert plan.remove == (future,)  # April is not in the file: untouched
    assert plan.add == (new,)
    assert plan.unchanged == 1


def test_an_import_cannot_change_the_past_or_overlap_a_running_shift() -> None:
    running = Shift(2, LI.id, at(10, 10), at(10, 12))
    with pytest.raises(ImportRejected) as refused:
        plan_import(
            rows(
                Shift(UNSAVED, WANG.id, at(3, 9), at(3, 12)),
                Shift(UNSAVED, WANG.id, at(10, 11), at(10, 13)),
                Shift(UNSAVED, ZHAO.id, at(21, 9), at(21, 12)),
                Shift(UNSAVED, WANG.id, at(24, 9), at(24, 12)),
                Shift(UNSAVED, LI.id, at(24, 11), at(24, 14)),
            ),
            [running],
            BY_ID,
            now=NOW,
            zone=BEIJING,
        )
    assert refused.value.problems == (
        "row 2: the shift 2031-03-03 09:00–12:00 is in the past and is not in the schedule: "
        "past shifts cannot be added or changed",
        "row 3: the shift 2031-03-10 11:00–13:00 overlaps 李娜's shift 2031-03-10 10:00–12:00: "
        "only one leader can be on duty at a time",
        "row 4: leader 赵刚 is inactive: reactivate them or choose another leader",
        "row 6: the shift 2031-03-24 11:00–14:00 overlaps row 5",
    )


def test_an_empty_import_is_refused() -> None:
    with pytest.raises(ImportRejected, match="holds no shifts"):
        plan_import([], [], BY_ID, now=NOW, zone=BEIJING)
