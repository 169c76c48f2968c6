"""The call-back page (漏接回拨), for agents and the office: a skeleton callbacks.js fills.

The script reads /api/callbacks every few seconds (so an outcome Asterisk reports shows up by
itself) and sends the 回拨 and note buttons to the API with the session's CSRF token. The page
shows no more than the API does: a reporter's number stays masked where the API masks it.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from ivr.db.models import Role
from ivr.web.guard import logged_in, require_role
from ivr.web.html import page
from ivr.web.pages import ROLE_HOME, user_bar

SCRIPTS = ("callbacks.js",)
STYLES = ("workflow.css",)
LIST_HEADERS = ("来电号码", "漏接", "最近一次", "排队等待", "工单", "回拨情况", "")
RECENT_HEADERS = ("回拨时间", "来电号码", "话务员", "结果", "备注", "")
# {phone} is escaped by the caller; the rest is fixed text
BODY = """<nav class="wf-nav"><a href="{home}">返回工作台</a></nav>
<p class="muted" id="cb-phone">{phone}</p>
<p id="cb-status" class="notice" role="status" hidden></p>
<p id="cb-error" class="error" role="alert" hidden></p>
<section id="callbacks" class="wf-section">
<h2>待回拨 <span id="cb-count" class="muted"></span></h2>
{rows}
<p class="muted" id="cb-empty" hidden>没有需要回拨的来电。</p>
</section>
<section id="cb-editor" class="wf-section" hidden>
<h2>回拨记录 <span id="cb-editor-title" class="muted"></span></h2>
<form id="cb-note-form" class="wf-move">
<label for="cb-note">备注（与市民约定的事项）</label>
<textarea id="cb-note" name="note" rows="3" maxlength="2000"></textarea>
<label><input type="checkbox" id="cb-done" name="done"> 办结：此来电已处理，不再回拨</label>
<button type="submit" id="cb-save">保存</button>
<button type="button" id="cb-cancel">取消</button>
</form>
</section>
<section id="recent" class="wf-section">
<h2>最近 24 小时的回拨</h2>
{attempts}
</section>"""


@require_role(Role.AGENT, Role.OFFICE)
async def callbacks_page(request: web.Request) -> web.StreamResponse:
    """The list of callers to call back, and the last day's call backs."""
    session = logged_in(request)
    user = session.user
    phone = (
        f"点击“回拨”后先呼叫您的话机 {escape(user.interface)}，接听后系统再拨打市民。"
        if user.interface
        else "您的账号没有设置坐席分机，只能查看，不能回拨。"
    )
    body = BODY.format(
        home=ROLE_HOME[user.role],
        phone=phone,
        rows=_table("cb-list", "cb-rows", LIST_HEADERS),
        attempts=_table("cb-recent", "cb-attempts", RECENT_HEADERS),
    )
    return page(
        "漏接回拨",
        body,
        header=user_bar(session),
        csrf_token=session.csrf_token,
        scripts=SCRIPTS,
        styles=STYLES,
        wide=True,
    )


def _table(key: str, body_id: str, headers: tuple[str, ...]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return (
        f'<table id="{key}" class="wf-list"><thead><tr>{head}</tr></thead>'
        f'<tbody id="{body_id}"></tbody></table>'
    )
