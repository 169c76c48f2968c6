"""The duty schedule's page: /duty?month=YYYY-MM.

A month as a calendar (who is on duty on which day), the leaders, the year's holiday list and
the export links, for the office and for leaders. The office also gets the forms: add or
change a shift, generate a rotation, edit and publish it, leaders, holidays, import, and the
latest changes. The forms work through /api/duty/... (duty.js, with the CSRF header); this
module only renders.
"""

from __future__ import annotations

from datetime import date, tzinfo
from html import escape

from aiohttp import web

from ivr.db import duty, duty_audit, duty_bulk
from ivr.db.models import Role
from ivr.duty.holidays import Holiday
from ivr.duty.model import Duty, Leader
from ivr.duty.months import add_months, month_of, month_span
from ivr.web.duty_json import a_month
from ivr.web.duty_render import audit_table, holidays_table, leaders_table, month_grid
from ivr.web.guard import logged_in, require_role
from ivr.web.html import page
from ivr.web.pages import user_bar
from ivr.web.state import clock_key, db_key, policy_key

SCRIPTS = ("duty.js",)
STYLES = ("duty.css",)
AUDIT_SHOWN = 20


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the schedule's page."""
    router.add_get("/duty", month_page)


@require_role(Role.OFFICE, Role.LEADER)
async def month_page(request: web.Request) -> web.StreamResponse:
    """The month's schedule; with the office's forms for the office."""
    app, session = request.config_dict, logged_in(request)
    zone, now = app[policy_key].timezone, app[clock_key]()
    today = now.astimezone(zone).date()
    first = a_month(request.query.get("month"), month_of(today))
    office = session.user.role is Role.OFFICE
    db = app[db_key]
    leaders = await duty.list_leaders(db)
    by_id = {x.id: x for x in leaders}
    start, end = month_span(first, 1, zone)
    shifts = await duty.shifts_between(db, start, end)
    year = await duty_bulk.list_holidays(db, date(first.year, 1, 1), date(first.year + 1, 1, 1))
    in_month = [h for h in year if month_of(h.day) == first]
    parts = [
        _navigation(first, zone),
        _now_line(await duty.duty_now(db, now)),
        '<p id="duty-error" class="error" role="alert" hidden></p>',
        '<p id="duty-status" class="notice" role="status" hidden></p>',
        month_grid(first, shifts, by_id, in_month, zone, editable=office),
    ]
    if office:
        parts += [_shift_form(leaders, first), _rotation_form(add_months(month_of(today), 1))]
    parts += _lists(leaders, year, first.year, office=office)
    if office:
        entries = await duty_audit.audit_log(db, limit=AUDIT_SHOWN)
        parts += [_import_form(), _section("audit", "变更记录", audit_table(entries, zone))]
    return page(
        "领导接听日值班安排",
        "\n".join(parts),
        header=user_bar(session),
        csrf_token=session.csrf_token,
        scripts=SCRIPTS,
        styles=STYLES,
        wide=True,
    )


def _lists(leaders: list[Leader], holidays: list[Holiday], year: int, *, office: bool) -> list[str]:
    # The leaders and the year's holidays; the office gets a form under each.
    people = leaders_table(leaders, editable=office) + (_leader_form() if office else "")
    days = holidays_table(holidays, year, editable=office) + (_holiday_form() if office else "")
    return [
        _section("leaders", "领导名单", people),
        _section("holidays", f"{year} 年节假日与调休", days),
    ]


def _navigation(first: date, zone: tzinfo) -> str:
    previous, following = add_months(first, -1), add_months(first, 1)
    query = f"month={first:%Y-%m}&amp;months=1"
    return f"""<nav class="duty-nav">
<a id="duty-prev" href="/duty?month={previous:%Y-%m}">‹ 上月</a>
<strong id="duty-month">{first.year}年{first.month}月</strong>
<a id="duty-next" href="/duty?month={following:%Y-%m}">下月 ›</a>
<span class="duty-exports">
<a id="export-csv" href="/api/duty/export.csv?{query}" download>导出 CSV（Excel）</a>
<a id="export-ics" href="/api/duty/export.ics?{query}" download>导出日历（.ics）</a>
</span>
<span class="muted">时间均为 {escape(str(zone))} 时间</span>
</nav>"""


def _now_line(now: Duty | None) -> str:
    if now is None:
        return '<p id="duty-now">当前无领导值班，来电进入话务员队列。</p>'
    leader = now.leader
    return (
        f'<p id="duty-now">当前值班：<strong>{escape(leader.name)}</strong>'
        f"（{escape(leader.title)}），来电转接 {escape(' '.join(leader.endpoints))}。</p>"
    )


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}" class="duty-section">\n<h2>{title}</h2>\n{body}\n</section>'


def _leader_options(leaders: list[Leader]) -> str:
    return "".join(
        f'<option value="{x.id}">{escape(x.name)}（{escape(x.title)}）</option>'
        for x in leaders
        if x.active
    )


def _shift_form(leaders: list[Leader], first: date) -> str:
    return _section(
        "shift-editor",
        "添加或修改值班",
        f"""<form id="shift-form" class="duty-form">
<input type="hidden" id="shift-id" value="">
<label>日期 <input type="date" id="shift-date" required value="{first.isoformat()}"></label>
<label>开始 <input type="time" id="shift-start" required value="09:00"></label>
<label>结束 <input type="time" id="shift-end" required value="12:00"></label>
<label>值班领导 <select id="shift-leader" required>{_leader_options(leaders)}</select></label>
<label>备注 <input type="text" id="shift-note" maxlength="500"></label>
<button type="submit" id="shift-save">保存值班</button>
<button type="button" id="shift-cancel" hidden>取消修改</button>
</form>
<p class="muted">结束时间写 00:00 表示当天 24:00。值班时段不可重叠，已结束的值班不可修改。</p>""",
    )


def _rotation_form(next_month: date) -> str:
    return _section(
        "rotation",
        "生成轮值方案",
        f"""<form id="rotation-form" class="duty-form">
<label>起始月份 <input type="month" id="rotation-month" required value="{next_month:%Y-%m}">
</label>
<label>月数 <select id="rotation-months"><option value="1">1 个月</option>
<option value="3">1 个季度（3 个月）</option></select></label>
<label>每月值班天数 <input type="number" id="rotation-days" min="1" max="31" value="2"></label>
<label>开始 <input type="time" id="rotation-start" value="09:00"></label>
<label>结束 <input type="time" id="rotation-end" value="12:00"></label>
<button type="submit" id="rotation-generate">生成方案</button>
</form>
<p class="muted">只排工作日（按节假日与调休名单），同一领导不连续值班。方案可修改后发布。</p>
<div id="rotation-proposal" hidden>
<table class="duty-list"><thead><tr><th>日期</th><th>开始</th><th>结束</th><th>值班领导</th>
<th></th></tr></thead><tbody id="proposal-rows"></tbody></table>
<button type="button" id="rotation-publish">发布方案</button>
<button type="button" id="rotation-discard">放弃</button>
</div>""",
    )


def _leader_form() -> str:
    return """<form id="leader-form" class="duty-form">
<input type="hidden" id="leader-id" value="">
<label>姓名 <input type="text" id="leader-name" required maxlength="64"></label>
<label>职务 <input type="text" id="leader-title" maxlength="64" placeholder="副市长"></label>
<label>联系方式 <input type="text" id="leader-endpoints" required
 placeholder="PJSIP/8001 PJSIP/13800000000@trunk"></label>
<button type="submit" id="leader-save">添加领导</button>
<button type="button" id="leader-cancel" hidden>取消修改</button>
</form>
<p class="muted">联系方式为 Asterisk 拨号串，多个用空格分隔：分机如 PJSIP/8001，
经中继的手机号如 PJSIP/13800000000@trunk。</p>"""


def _holiday_form() -> str:
    return """<form id="holiday-form" class="duty-form">
<label>日期 <input type="date" id="holiday-day" required></label>
<label>名称 <input type="text" id="holiday-name" maxlength="64" placeholder="国庆节"></label>
<label>类型 <select id="holiday-kind"><option value="holiday">放假</option>
<option value="workday">调休上班</option></select></label>
<button type="submit" id="holiday-save">登记</button>
</form>"""


def _import_form() -> str:
    return _section(
        "import",
        "导入值班表",
        """<form id="import-form" class="duty-form">
<label>文件（CSV 或 .ics） <input type="file" id="import-file" required
 accept=".csv,.ics,text/csv,text/calendar"></label>
<button type="submit" id="import-submit">导入</button>
</form>
<p class="muted">CSV 表头：date,start,end,leader,title,endpoints,note（可用导出的文件修改后导入）。
导入会替换文件所含月份中尚未开始的值班；任何一行有误则整个文件不导入。</p>
<ul id="import-problems" class="error" hidden></ul>""",
    )
