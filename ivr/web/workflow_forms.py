"""The forms of a case page: one per move the viewer may make now (the file's `allowed`).

Each form posts JSON to /api/workflow/cases/{id}/... through workflow.js: a field's name is
its JSON key; `data-type` makes it a number or a yes/no; a multiple select gives a list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from html import escape

from ivr.web.workflow_render import options
from ivr.workflow.inputs import SATISFACTION_LABELS
from ivr.workflow.transitions import ACTION_LABELS, Action


def move_forms(
    case_id: int,
    allowed: Sequence[str],
    *,
    departments: Sequence[str],
    suggested: tuple[str | None, Sequence[str]],
    today: date,
    max_days: int,
) -> str:
    """The forms of every allowed move, in workflow order."""
    build: dict[Action, Callable[[], str]] = {
        Action.DISPATCH: lambda: _departments_fields(departments, suggested, "交办意见"),
        Action.ACCEPT: lambda: "",
        Action.RETURN: lambda: _area("reason", "退单理由（说明应由哪个单位办理）"),
        Action.REDISPATCH: lambda: _departments_fields(departments, (None, ()), "改派意见"),
        Action.REJECT_RETURN: lambda: _area("reason", "驳回理由"),
        Action.REQUEST_EXTENSION: lambda: _days(max_days) + _area("reason", "延期理由"),
        Action.APPROVE_EXTENSION: lambda: _line("note", "审批意见（可不填）", required=False),
        Action.DENY_EXTENSION: lambda: _area("reason", "驳回理由"),
        Action.NOTE: lambda: _area("text", "办理进展"),
        Action.REPLY: lambda: _reply_fields(today),
        Action.FOLLOW_UP: _follow_up_fields,
        Action.REOPEN: lambda: _reopen_fields(departments),
        Action.ARCHIVE: lambda: _area("reason", "归档说明（未回访或未交办时必填）", required=False),
        Action.MERGE: lambda: (
            _line("into", "并入主工单（工单编号）")
            + _area("reason", "并单说明（可不填）", required=False)
        ),
        Action.UNMERGE: lambda: _area("reason", "取消并单理由"),
    }
    forms = []
    for value in allowed:
        action = Action(value)
        forms.append(_form(case_id, action, build[action]()))
    if not forms:
        return '<p class="muted" id="no-moves">当前没有需要您处理的操作。</p>'
    return '<div id="moves" class="wf-moves">' + "\n".join(forms) + "</div>"


_PATHS = {
    Action.DISPATCH: "dispatch",
    Action.ACCEPT: "accept",
    Action.RETURN: "return",
    Action.REDISPATCH: "redispatch",
    Action.REJECT_RETURN: "reject-return",
    Action.REQUEST_EXTENSION: "extension",
    Action.APPROVE_EXTENSION: "extension/approve",
    Action.DENY_EXTENSION: "extension/deny",
    Action.NOTE: "notes",
    Action.REPLY: "reply",
    Action.FOLLOW_UP: "follow-up",
    Action.REOPEN: "reopen",
    Action.ARCHIVE: "archive",
    Action.MERGE: "merge",
    Action.UNMERGE: "unmerge",
}


def _form(case_id: int, action: Action, fields: str) -> str:
    label = ACTION_LABELS[action]
    url = f"/api/workflow/cases/{case_id}/{_PATHS[action]}"
    return f"""<form id="move-{action.value}" class="wf-move" data-url="{url}"
 data-done="{escape(label)}：已完成">
<h3>{escape(label)}</h3>
{fields}
<button type="submit" id="do-{action.value}">{escape(label)}</button>
</form>"""


def _area(name: str, label: str, *, required: bool = True) -> str:
    need = " required" if required else ""
    return (
        f'<label>{escape(label)}<textarea name="{name}" rows="3" maxlength="2000"{need}>'
        "</textarea></label>"
    )


def _line(name: str, label: str, *, required: bool = True, value: str = "") -> str:
    need = " required" if required else ""
    return (
        f'<label>{escape(label)} <input type="text" name="{name}" maxlength="200"'
        f' value="{escape(value)}"{need}></label>'
    )


def _days(most: int) -> str:
    return (
        f'<label>延期天数（工作日，最多 {most} 天） <input type="number" name="days"'
        f' data-type="int" min="1" max="{most}" value="{most}" required></label>'
    )


def _departments_fields(
    names: Sequence[str], suggested: tuple[str | None, Sequence[str]], note: str
) -> str:
    lead, co = suggested
    blank = '<option value="">请选择</option>' if lead is None else ""
    return (
        f'<label>主办单位 <select name="department" required>{blank}'
        f"{options(names, [lead] if lead else [])}</select></label>"
        f'<label>协办单位（可多选） <select name="co" multiple size="4">'
        f"{options(names, co)}</select></label>" + _area("instructions", note, required=False)
    )


def _reply_fields(today: date) -> str:
    return (
        _area("result", "办理结果")
        + _line("handler", "经办人")
        + f'<label>办结日期 <input type="date" name="handled_on" value="{today.isoformat()}"'
        f' max="{today.isoformat()}" required></label>'
    )


def _follow_up_fields() -> str:
    levels = "".join(
        f'<option value="{k.value}">{escape(v)}</option>' for k, v in SATISFACTION_LABELS.items()
    )
    return (
        '<label>问题是否解决 <select name="resolved" data-type="bool">'
        '<option value="true">已解决</option><option value="false">未解决</option></select>'
        f'</label><label>满意度 <select name="satisfaction">{levels}</select></label>'
        + _area("citizen_words", "市民意见（不满意或未解决时必填）", required=False)
        + _area("override_reason", "不重新办理的理由（仅在决定不重办时填写）", required=False)
    )


def _reopen_fields(names: Sequence[str]) -> str:
    return (
        _area("citizen_words", "市民意见（交给承办单位）")
        + '<label>改由其他单位办理（可不选） <select name="department">'
        f'<option value="">原承办单位</option>{options(names)}</select></label>'
        + _area("reason", "改由其他单位办理的理由", required=False)
    )
