"""The urging pages: a department's reminders (催办), the office's supervision list (督办)
and notice list (通报).

GET /workflow/reminders     department: its own reminders, unread first, each with 已阅
GET /workflow/supervision   office: escalated cases still late, the longest late first
GET /workflow/notices       office: every notice, and whether the step was done since

Pages are rendered from the API's JSON (so they show no more than it: a department never
sees a whistleblower's identity); 已阅 goes through the API (workflow.js, CSRF header).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.db import urging_views
from ivr.db.models import Role
from ivr.duty.holidays import HolidayCalendar
from ivr.web.guard import logged_in, require_role
from ivr.web.html import page
from ivr.web.pages import user_bar
from ivr.web.state import clock_key, db_key
from ivr.web.urging_api import REMINDERS, reminder_items
from ivr.web.urging_json import reminder_json
from ivr.web.workflow_api import rules_of
from ivr.web.workflow_pages import SCRIPTS, STATUS_LINES, STYLES
from ivr.web.workflow_render import case_link, cell, section, table, when

Json = Mapping[str, Any]
Row = Callable[[Json], str]
DONE_LABELS = {"accept": "已签收", "reply": "已回复"}


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the urging pages."""
    router.add_get("/workflow/reminders", reminders_page)
    router.add_get("/workflow/supervision", supervision_page)
    router.add_get("/workflow/notices", notices_page)


@require_role(Role.DEPARTMENT)
async def reminders_page(request: web.Request) -> web.StreamResponse:
    """The department's reminders (催办)."""
    user = logged_in(request).user
    items = await reminder_items(request)
    zone = rules_of(request).zone
    headers = ("工单编号", "提醒", "时限", "提醒时间", "摘要", "已阅")
    rows = (_reminder_row(reminder_json(item, user), zone) for item in items)
    body = _nav(Role.DEPARTMENT) + STATUS_LINES
    body += section("reminders", "催办提醒", table("reminder-list", headers, rows, "暂无催办提醒"))
    return _page(request, f"{user.department} 催办提醒", body)


@require_role(Role.OFFICE)
async def supervision_page(request: web.Request) -> web.StreamResponse:
    """The office's supervision list (督办)."""
    app, rules = request.config_dict, rules_of(request)
    items = await urging_views.supervision_list(app[db_key], now=app[clock_key](), rules=rules)
    per_day = rules.calendar(HolidayCalendar()).minutes_per_day
    headers = ("工单编号", "承办单位", "事项", "时限", "超期", "督办时间", "摘要")

    def row(line: Json) -> str:
        return _supervision_row(line, rules.zone, per_day)

    return _listing(request, items, "supervision", "督办", headers, row, "没有督办中的工单")


@require_role(Role.OFFICE)
async def notices_page(request: web.Request) -> web.StreamResponse:
    """The office's notice list (通报)."""
    app, rules = request.config_dict, rules_of(request)
    items = await urging_views.notice_list(app[db_key], now=app[clock_key](), rules=rules)
    headers = ("工单编号", "承办单位", "事项", "时限", "通报时间", "现状", "摘要")

    def row(line: Json) -> str:
        return _notice_row(line, rules.zone)

    return _listing(request, items, "notices", "通报", headers, row, "没有通报")


def overdue_text(minutes: int, per_day: int) -> str:
    """Working time late, as the office says it: 2 个工作日 3 小时."""
    days, rest = divmod(minutes, per_day)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} 个工作日"] if days else []
    parts += [f"{hours} 小时"] if hours else []
    parts += [f"{mins} 分钟"] if mins and not days else []
    return " ".join(parts) or "不足 1 分钟"


def _listing(
    request: web.Request,
    items: Iterable[urging_views.ReminderItem],
    key: str,
    title: str,
    headers: tuple[str, ...],
    row: Row,
    empty: str,
) -> web.Response:
    user = logged_in(request).user
    rows = (row(reminder_json(item, user)) for item in items)
    body = _nav(Role.OFFICE) + section(key, title, table(f"{key}-list", headers, rows, empty))
    return _page(request, title, body)


def _reminder_row(line: Json, zone: ZoneInfo) -> str:
    read = line["acknowledged_at"]
    state = f"{when(read, zone)} {line['acknowledged_by']}" if read else _acknowledge_form(line)
    css = "wf-row is-read" if read else "wf-row is-unread"
    return (
        f'<tr class="{css}" data-reminder="{int(line["id"])}">'
        f"<td>{case_link(line['case'])}</td>"
        + cell(line["label"])
        + cell(when(line["deadline"], zone))
        + cell(when(line["raised_at"], zone))
        + cell(line["case"]["summary"])
        + (cell(state) if read else f"<td>{state}</td>")
        + "</tr>"
    )


def _acknowledge_form(line: Json) -> str:
    url = f"{REMINDERS}/{int(line['id'])}/acknowledge"
    return (
        f'<form class="wf-move" data-url="{url}" data-done="已阅">'
        f'<button type="submit" id="ack-{int(line["id"])}">已阅</button></form>'
    )


def _supervision_row(line: Json, zone: ZoneInfo, per_day: int) -> str:
    return (
        _lead_cells(line, zone)
        + cell(overdue_text(int(line["overdue_working_minutes"]), per_day))
        + cell(when(line["raised_at"], zone))
        + cell(line["case"]["summary"])
        + "</tr>"
    )


def _notice_row(line: Json, zone: ZoneInfo) -> str:
    state = "仍未办结" if line["outstanding"] else DONE_LABELS.get(line["step"], "已办理")
    return (
        _lead_cells(line, zone)
        + cell(when(line["raised_at"], zone))
        + cell(state)
        + cell(line["case"]["summary"])
        + "</tr>"
    )


def _lead_cells(line: Json, zone: ZoneInfo) -> str:
    # the row's opening and the cells the office's two lists share
    css = "wf-row is-overdue" if line["outstanding"] else "wf-row"
    return (
        f'<tr class="{css}" data-reminder="{int(line["id"])}">'
        f"<td>{case_link(line['case'])}</td>"
        + cell(line["department"])
        + cell(line["label"])
        + cell(when(line["deadline"], zone))
    )


def _nav(role: Role) -> str:
    if role is Role.OFFICE:
        links = [
            ("/workflow/dispatch", "交办台"),
            ("/workflow/supervision", "督办"),
            ("/workflow/notices", "通报"),
            ("/office", "管理台"),
        ]
    else:
        links = [("/workflow/cases", "本单位工单"), ("/workflow/reminders", "催办提醒")]
    items = " · ".join(f'<a href="{url}">{escape(label)}</a>' for url, label in links)
    return f'<nav class="wf-nav">{items}</nav>'


def _page(request: web.Request, title: str, body: str) -> web.Response:
    session = logged_in(request)
    return page(
        title,
        body,
        header=user_bar(session),
        csrf_token=session.csrf_token,
        scripts=SCRIPTS,
        styles=STYLES,
        wide=True,
    )
