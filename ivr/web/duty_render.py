"""HTML pieces of the duty schedule page: the month grid, the leaders, holidays and audit.

Pure functions of the schedule; every value goes through `escape`. Elements carry data-*
attributes (day, shift, leader) that duty.js and the browser tests read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo
from html import escape

from ivr.db.duty_audit import AuditEntry
from ivr.duty.holidays import Holiday, HolidayKind
from ivr.duty.model import Leader, Shift
from ivr.duty.months import weeks_of
from ivr.web.duty_json import shift_out

WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
KIND_LABELS = {HolidayKind.HOLIDAY: "放假", HolidayKind.WORKDAY: "调休上班"}
ACTION_LABELS = {
    "create": "新增",
    "update": "修改",
    "delete": "删除",
    "deactivate": "停用",
    "activate": "启用",
    "publish": "发布轮值",
    "import": "导入",
}
ENTITY_LABELS = {"leader": "领导", "shift": "值班", "holiday": "节假日"}


def month_grid(
    first: date,
    shifts: Sequence[Shift],
    leaders: Mapping[int, Leader],
    holidays: Sequence[Holiday],
    zone: tzinfo,
    *,
    editable: bool,
) -> str:
    """The month as a calendar table, Monday first, each day with its shifts."""
    by_day: dict[date, list[Shift]] = {}
    for shift in shifts:
        by_day.setdefault(shift.starts_at.astimezone(zone).date(), []).append(shift)
    marked = {h.day: h for h in holidays}
    head = "".join(f"<th scope=col>{d}</th>" for d in WEEKDAYS)
    rows = "".join(
        "<tr>"
        + "".join(
            _day_cell(day, by_day.get(day, []), leaders, marked.get(day), zone, editable)
            if day
            else '<td class="duty-pad"></td>'
            for day in week
        )
        + "</tr>\n"
        for week in weeks_of(first)
    )
    caption = f"{first.year}年{first.month}月"
    return f"""<table class="duty-month" id="duty-calendar" data-month="{first:%Y-%m}">
<caption>{caption}</caption>
<thead><tr>{head}</tr></thead>
<tbody>
{rows}</tbody>
</table>"""


def _day_cell(
    day: date,
    shifts: list[Shift],
    leaders: Mapping[int, Leader],
    holiday: Holiday | None,
    zone: tzinfo,
    editable: bool,
) -> str:
    classes = ["duty-day"]
    if day.weekday() >= 5:
        classes.append("weekend")
    label = ""
    if holiday is not None:
        classes.append(f"is-{holiday.kind.value}")
        kind = KIND_LABELS[holiday.kind]
        label = f'<span class="duty-holiday">{escape(holiday.name)}（{kind}）</span>'
    if shifts:
        classes.append("has-duty")
    items = "".join(shift_item(s, leaders, zone, editable=editable) for s in shifts)
    listing = f'<ul class="duty-shifts">{items}</ul>' if items else ""
    return (
        f'<td class="{" ".join(classes)}" data-day="{day.isoformat()}">'
        f'<span class="duty-date">{day.day}</span>{label}{listing}</td>'
    )


def shift_item(shift: Shift, leaders: Mapping[int, Leader], zone: tzinfo, *, editable: bool) -> str:
    """One shift in a day cell: its hours, its leader, and for the office its buttons."""
    data = shift_out(shift, leaders, zone)
    name = data["leader"] or f"#{shift.leader_id}"
    title = f'<span class="duty-title">{escape(data["title"])}</span>' if data["title"] else ""
    inactive = "" if data["leader_active"] else '<span class="duty-inactive">（已停用）</span>'
    note = f'<span class="duty-note">{escape(shift.note)}</span>' if shift.note else ""
    attrs = " ".join(
        f'data-{key}="{escape(str(data[field]))}"'
        for key, field in (
            ("shift-id", "id"),
            ("leader-id", "leader_id"),
            ("date", "date"),
            ("start", "start"),
            ("end", "end"),
            ("note", "note"),
        )
    )
    buttons = (
        '<button type="button" data-action="edit-shift">修改</button>'
        '<button type="button" data-action="delete-shift">删除</button>'
        if editable
        else ""
    )
    return (
        f'<li class="duty-shift" {attrs}><span class="duty-time">{data["start"]}–{data["end"]}'
        f'</span> <span class="duty-leader">{escape(name)}</span>{title}{inactive}{note}'
        f"{buttons}</li>"
    )


def leaders_table(leaders: Sequence[Leader], *, editable: bool) -> str:
    """The leaders with their titles, endpoints and state (buttons for the office)."""
    if not leaders:
        return '<p class="muted" id="leaders-empty">尚未添加领导。</p>'
    head = "<th>姓名</th><th>职务</th><th>联系方式（拨号串）</th><th>状态</th>"
    rows = "".join(_leader_row(x, editable) for x in leaders)
    return f"""<table class="duty-list" id="leaders-table">
<thead><tr>{head}{"<th></th>" if editable else ""}</tr></thead>
<tbody>{rows}</tbody>
</table>"""


def _leader_row(leader: Leader, editable: bool) -> str:
    state = "在任" if leader.active else "已停用"
    endpoints = " ".join(leader.endpoints)
    buttons = ""
    if editable:
        toggle = (
            '<button type="button" data-action="deactivate-leader">停用</button>'
            if leader.active
            else '<button type="button" data-action="activate-leader">启用</button>'
        )
        buttons = f'<td><button type="button" data-action="edit-leader">修改</button>{toggle}</td>'
    return (
        f'<tr data-leader-id="{leader.id}" data-name="{escape(leader.name)}" '
        f'data-title="{escape(leader.title)}" data-endpoints="{escape(endpoints)}">'
        f"<td>{escape(leader.name)}</td><td>{escape(leader.title)}</td>"
        f"<td><code>{escape(endpoints)}</code></td><td>{state}</td>{buttons}</tr>"
    )


def holidays_table(holidays: Sequence[Holiday], year: int, *, editable: bool) -> str:
    """The year's holiday list (buttons for the office)."""
    if not holidays:
        return f'<p class="muted" id="holidays-empty">{year} 年尚未登记节假日或调休。</p>'
    rows = "".join(
        f'<tr data-day="{h.day.isoformat()}"><td>{h.day.isoformat()}</td>'
        f"<td>{escape(h.name)}</td><td>{KIND_LABELS[h.kind]}</td>"
        + (
            '<td><button type="button" data-action="delete-holiday">删除</button></td>'
            if editable
            else ""
        )
        + "</tr>"
        for h in holidays
    )
    return f"""<table class="duty-list" id="holidays-table">
<thead><tr><th>日期</th><th>名称</th><th>类型</th>{"<th></th>" if editable else ""}</tr></thead>
<tbody>{rows}</tbody>
</table>"""


def audit_table(entries: Sequence[AuditEntry], zone: tzinfo) -> str:
    """The latest changes: when, who, what."""
    if not entries:
        return '<p class="muted">暂无变更记录。</p>'
    rows = "".join(
        f"<tr><td>{e.at.astimezone(zone):%Y-%m-%d %H:%M}</td><td>{escape(e.actor)}</td>"
        f"<td>{ENTITY_LABELS.get(e.entity, escape(e.entity))} {escape(e.entity_id)}</td>"
        f"<td>{ACTION_LABELS.get(e.action, escape(e.action))}</td>"
        f"<td>{escape(_summary(e, zone))}</td></tr>"
        for e in entries
    )
    head = "<th>时间</th><th>操作人</th><th>对象</th><th>操作</th><th>内容</th>"
    return f"""<table class="duty-list" id="audit-table">
<thead><tr>{head}</tr></thead>
<tbody>{rows}</tbody>
</table>"""


def _summary(entry: AuditEntry, zone: tzinfo) -> str:
    record = entry.after or entry.before or {}
    if entry.entity == "shift":
        try:
            at = datetime.fromisoformat(str(record.get("starts_at")))
            start = f"{at.astimezone(zone):%Y-%m-%d %H:%M}"
        except ValueError:
            start = ""
        return f"{record.get('leader') or ''} {start}"
    if entry.entity == "holiday":
        return f"{record.get('day', '')} {record.get('name', '')}"
    return f"{record.get('name', '')} {record.get('title', '')}"
