"""The public mailbox's pages: the letter form, the query code shown once, the query form
and a letter's progress. Every value is escaped; styles come from /static/mailbox.css.

The progress page shows what is meant for the writer only: the case number, the status
in words, the dates, and once replied the department's answer. Never notes, the names of
people who handled it, other cases, or whether anything is masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from html import escape

from aiohttp import web

from ivr.cases import letter as limits
from ivr.db.mailbox import Progress
from ivr.web.html import error_box, hidden_csrf, page
from ivr.workflow.transitions import STATUS_LABELS

LETTER_TITLE = "市长信箱"
QUERY_TITLE = "来信办理进度查询"
STYLES = ("mailbox.css",)
HONEYPOT = "homepage"  # a field people never see and scripts fill in
TOKEN_FIELD = "form_token"
CODE_LIMIT = 32  # what the query form takes: a code with spaces or dashes in it
INTRO = (
    '<p class="muted">请如实填写您反映的问题。我们收到后将尽快受理并转交承办单位办理；'
    "提交后您会得到一个查询码，凭它可随时查看办理进度。紧急情况请直接拨打 12345。</p>"
)
CONSENT = "我确认所反映情况属实，同意热线办为办理本件与我联系，并将来信转交承办单位办理。"
WHISTLEBLOWER = "这是检举/举报（您的姓名和电话不会告知承办单位）"


def letter_page(
    typed: Mapping[str, str], *, token: str, csrf: str, error: str = "", status: int = 200
) -> web.Response:
    """The letter form, filled with what was typed before (after a refusal)."""
    body = f"""{INTRO}
{error_box(error)}
<form method="post" action="/mailbox" class="mailbox" id="letter-form">
{hidden_csrf(csrf) if csrf else ""}
<input type="hidden" name="{TOKEN_FIELD}" value="{escape(token)}">
<div class="mb-trap" aria-hidden="true">
<label for="{HONEYPOT}">请勿填写此项</label>
<input type="text" id="{HONEYPOT}" name="{HONEYPOT}" tabindex="-1" autocomplete="off">
</div>
{_input(typed, "name", "姓名（选填）", limits.NAME_LIMIT, autocomplete="name")}
{_input(typed, "phone", "联系电话（必填）", limits.PHONE_LIMIT, kind="tel", required=True)}
{_input(typed, "address", "事发地点（选填）", limits.ADDRESS_LIMIT)}
{_input(typed, "subject", "标题（必填）", limits.SUBJECT_LIMIT, required=True)}
<label for="content">来信内容（必填，{limits.CONTENT_LIMIT} 字以内）</label>
<textarea id="content" name="content" rows="10" maxlength="{limits.CONTENT_LIMIT}" required>
{escape(typed.get("content", ""))}</textarea>
{_check(typed, "whistleblower", WHISTLEBLOWER)}
{_check(typed, "consent", CONSENT, required=True)}
<button type="submit">提交来信</button>
</form>
<p><a href="/mailbox/query">已有查询码？查询办理进度</a></p>"""
    return page(LETTER_TITLE, body, status=status, styles=STYLES)


def sent_page(code: str, received_at: datetime, zone: tzinfo) -> web.Response:
    """The thank-you page, the one place the query code is ever shown."""
    body = f"""<p class="mb-done" role="status">您的来信已收到，我们将尽快受理。</p>
<p>您的查询码（只显示这一次，请抄下或截图保存）：</p>
<p class="mb-code" id="query-code">{escape(code)}</p>
<p class="muted">收到时间：{_when(received_at, zone)}。凭查询码可查看受理、办理和答复情况。</p>
<p><a href="/mailbox/query">查询办理进度</a> · <a href="/mailbox">再写一封</a></p>"""
    return page(LETTER_TITLE, body, status=201, styles=STYLES)


def query_page(code: str, *, csrf: str, error: str = "", status: int = 200) -> web.Response:
    """The query form, with the code typed before (after a refusal)."""
    body = f"""{error_box(error)}
<form method="post" action="/mailbox/query" class="mailbox" id="query-form">
{hidden_csrf(csrf) if csrf else ""}
<label for="code">查询码</label>
<input type="text" id="code" name="code" maxlength="{CODE_LIMIT}" required autocomplete="off"
 placeholder="例如 ABCD-EFGH-JKMN" value="{escape(code[:CODE_LIMIT])}">
<button type="submit">查询</button>
</form>
<p><a href="/mailbox">写信给市长信箱</a></p>"""
    return page(QUERY_TITLE, body, status=status, styles=STYLES)


def progress_page(progress: Progress, zone: tzinfo) -> web.Response:
    """A letter's progress as its writer sees it."""
    facts = [
        ("工单编号", progress.number or "尚未受理，暂无编号"),
        ("当前状态", STATUS_LABELS[progress.status]),
        ("来信时间", _when(progress.received_at, zone)),
        ("受理时间", _when(progress.registered_at, zone) if progress.registered_at else "—"),
    ]
    body = _facts("progress", facts)
    if progress.reply is not None:
        reply = progress.reply
        answer = [
            ("承办单位", reply.department),
            ("办结日期", f"{reply.handled_on:%Y-%m-%d}"),
            ("答复内容", reply.result),
        ]
        body += "\n<h2>办理结果</h2>\n" + _facts("reply", answer)
    body += '\n<p><a href="/mailbox/query">查询其他来信</a> · <a href="/mailbox">写信</a></p>'
    return page(QUERY_TITLE, body, styles=STYLES)


def _input(
    typed: Mapping[str, str],
    name: str,
    label: str,
    limit: int,
    *,
    kind: str = "text",
    required: bool = False,
    autocomplete: str = "on",
) -> str:
    value = escape(typed.get(name, ""))
    need = " required" if required else ""
    return (
        f'<label for="{name}">{label}</label>\n'
        f'<input type="{kind}" id="{name}" name="{name}" maxlength="{limit}"{need}'
        f' autocomplete="{autocomplete}" value="{value}">'
    )


def _check(typed: Mapping[str, str], name: str, label: str, *, required: bool = False) -> str:
    ticked = " checked" if typed.get(name) else ""
    need = " required" if required else ""
    return (
        f'<label class="check"><input type="checkbox" id="{name}" name="{name}" value="1"'
        f"{ticked}{need}> {escape(label)}</label>"
    )


def _facts(name: str, facts: list[tuple[str, str]]) -> str:
    rows = "\n".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f'<dl class="mb-facts" id="{name}">\n{rows}\n</dl>'


def _when(moment: datetime, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"
