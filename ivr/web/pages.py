"""The home redirect and each role's page.

The agent's page is the agent console (ivr.web.agent_page); the other roles' pages are
placeholders until their consoles land.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from ivr.db.models import Role
from ivr.db.users import UserView
from ivr.db.web_sessions import SessionView
from ivr.web import agent_page
from ivr.web.guard import ROLE_LABELS, Handler, logged_in, redirect, require_role
from ivr.web.html import hidden_csrf, page
from ivr.web.presence import telephony_key

ROLE_HOME = {
    Role.AGENT: "/agent",
    Role.OFFICE: "/office",
    Role.DEPARTMENT: "/department",
    Role.LEADER: "/leader",
}
OFFICE_NAV = (
    '<nav><a href="/workflow/dispatch">交办</a> · <a href="/workflow/supervision">督办</a>'
    ' · <a href="/workflow/notices">通报</a> · <a href="/duty">领导接听日值班安排</a>'
    ' · <a href="/wallboard">话务大屏</a> · <a href="/callbacks">漏接回拨</a>'
    ' · <a href="/kb">知识库</a> · <a href="/alerts">热点预警</a>'
    ' · <a href="/stats">统计分析</a></nav>'
)
DEPARTMENT_LINKS = (
    '<a href="/workflow/cases">本单位工单</a>',
    '<a href="/workflow/reminders">催办提醒</a>',
)
DEPARTMENT_NAV = "<nav>" + " · ".join(DEPARTMENT_LINKS) + "</nav>"
# who takes calls and so gets the screen-pop console
CONSOLE_ROLES = (Role.AGENT, Role.LEADER)
ROLE_TITLES = {
    Role.AGENT: "话务员工作台",
    Role.OFFICE: "热线办管理台",
    Role.DEPARTMENT: "承办单位工作台",
    Role.LEADER: "值班领导工作台",
}


@require_role(*Role)
async def home(request: web.Request) -> web.StreamResponse:
    """Send each user to their role's page."""
    return redirect(ROLE_HOME[logged_in(request).user.role])


def role_page(role: Role) -> Handler:
    """The handler of `role`'s page, open to that role only."""

    async def show(request: web.Request) -> web.StreamResponse:
        session = logged_in(request)
        header = user_bar(session)
        telephony = telephony_key in request.config_dict
        body = who_am_i(session) + _role_body(role, session.user, telephony=telephony)
        agent = role in CONSOLE_ROLES
        return page(
            ROLE_TITLES[role],
            body,
            header=header,
            csrf_token=session.csrf_token,
            scripts=agent_page.SCRIPTS if agent else (),
            styles=agent_page.STYLES if agent else (),
            wide=agent,
        )

    # Named before guarding, so logs and tracebacks say which page it is.
    show.__name__ = show.__qualname__ = f"{role.value}_page"
    return require_role(role)(show)


def user_bar(session: SessionView) -> str:
    """The header's right side: who is logged in, and the logout button."""
    user = session.user
    return f"""<form method="post" action="/logout">
<span>{escape(user.display_name)}（{ROLE_LABELS[user.role]}）</span>
{hidden_csrf(session.csrf_token)}
<button type="submit">退出登录</button>
</form>"""


def who_am_i(session: SessionView) -> str:
    """The user's name, role and, where they have one, queue interface or department."""
    user = session.user
    rows = [("姓名", user.display_name), ("用户名", user.username)]
    rows.append(("角色", ROLE_LABELS[user.role]))
    if user.interface:
        rows.append(("坐席分机", user.interface))
    if user.department:
        rows.append(("所属部门", user.department))
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return f"<dl>{items}</dl>"


def _role_body(role: Role, user: UserView, *, telephony: bool) -> str:
    if role in CONSOLE_ROLES:
        leader_nav = OFFICE_NAV if role is Role.LEADER else ""
        return leader_nav + agent_page.agent_console(user, telephony=telephony)
    if role is Role.OFFICE:
        return OFFICE_NAV
    return DEPARTMENT_NAV
