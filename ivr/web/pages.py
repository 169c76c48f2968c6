"""The home redirect and each role's page (placeholders until the console pages land).

The agent's page shows the queue state Asterisk reports and the Ready / Pause / Leave
buttons; its script is /static/agent.js (the CSP forbids inline scripts).
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from ivr.db.models import Role
from ivr.db.users import UserView
from ivr.db.web_sessions import SessionView
from ivr.handlers.agent_presence import PAUSE_REASONS
from ivr.web.guard import ROLE_LABELS, Handler, logged_in, redirect, require_role
from ivr.web.html import hidden_csrf, page
from ivr.web.presence import telephony_key

ROLE_HOME = {
    Role.AGENT: "/agent",
    Role.OFFICE: "/office",
    Role.DEPARTMENT: "/department",
    Role.LEADER: "/leader",
}
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
        scripts = ("agent.js",) if 'id="presence"' in body else ()
        return page(
            ROLE_TITLES[role], body, header=header, csrf_token=session.csrf_token, scripts=scripts
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
    if role is not Role.AGENT:
        return "<p>控制台功能即将上线。</p>"
    if not telephony:  # a console served without Asterisk (web-only): nothing to poll
        return "<p>本控制台未连接电话系统。</p>"
    return presence_panel(user)


def presence_panel(user: UserView) -> str:
    """The agent's queue state and its buttons (driven by agent.js)."""
    if not user.interface:
        return '<p class="error">未配置坐席分机，无法签入队列，请联系热线办。</p>'
    options = "".join(
        f'<option value="{escape(value)}">{escape(label)}</option>'
        for value, label in PAUSE_REASONS.items()
    )
    return f"""<section id="presence" aria-live="polite">
<h2>坐席状态</h2>
<p><strong id="presence-state">正在读取…</strong> <span id="presence-since"></span>
<span id="presence-device"></span></p>
<p id="presence-error" class="error" role="alert" hidden></p>
<button type="button" id="presence-ready">就绪</button>
<label for="presence-reason">暂停原因</label>
<select id="presence-reason">{options}</select>
<button type="button" id="presence-pause">暂停</button>
<button type="button" id="presence-leave">退出队列</button>
</section>
"""
