"""HTML pieces of the workflow's pages, rendered from the same JSON the API returns (so a
page can never show more than the API would). Every value goes through `escape`; forms
carry `data-url` and are sent by workflow.js as JSON with the CSRF header."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from html import escape
from typing import Any

from ivr.workflow.inputs import SATISFACTION_LABELS

PRIORITY_LABELS = {"normal": "一般件", "important": "重要件", "urgent": "急阅件"}
ROLE_LABELS = {"lead": "主办", "co": "协办"}
KIND_LABELS = {"dispatch": "交办", "redispatch": "改派", "rework": "重新办理"}
DECISION_LABELS = {"approved": "已批准", "denied": "已驳回", "void": "已作废", None: "待审批"}
Json = Mapping[str, Any]


def when(value: str | None, zone: tzinfo) -> str:
    """An ISO time from the JSON as the office reads it: local, to the minute."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def cell(value: object) -> str:
    """A table cell's escaped text (empty for None)."""
    return f"<td>{escape('' if value is None else str(value))}</td>"


def section(key: str, title: str, body: str) -> str:
    """A titled section of a page."""
    return f'<section id="{key}" class="wf-section">\n<h2>{title}</h2>\n{body}\n</section>'


def table(key: str, headers: Sequence[str], rows: Iterable[str], empty: str) -> str:
    """A table with a header row, or a line saying there is nothing."""
    body = "\n".join(rows)
    if not body:
        return f'<p class="muted" id="{key}-empty">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return (
        f'<table id="{key}" class="wf-list"><thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table>"
    )


def deadline(due: str | None, overdue: bool, zone: tzinfo) -> str:
    """A deadline cell, marked when it was (or is being) missed."""
    mark = '<span class="wf-overdue">超期</span>' if overdue else ""
    css = ' class="is-overdue"' if overdue else ""
    return f"<td{css}>{escape(when(due, zone))}{mark}</td>"


def case_link(case: Json) -> str:
    """A link to the case's page, by its number."""
    number = escape(str(case.get("number") or f"#{case['id']}"))
    return f'<a class="wf-case" href="/workflow/cases/{int(case["id"])}">{number}</a>'


def desk_row(line: Json, zone: tzinfo, categories: Mapping[str, str]) -> str:
    """A line of a department's desk or the office's lists."""
    case, part = line["case"], line.get("assignment") or {}
    overdue = bool(part.get("accept_overdue") or part.get("reply_overdue"))
    css = "wf-row is-overdue" if overdue else "wf-row"
    return (
        f'<tr class="{css}" data-case="{int(case["id"])}"><td>{case_link(case)}</td>'
        + cell(case["status_label"])
        + cell(categories.get(case["category"], case["category"]))
        + cell(PRIORITY_LABELS.get(case["priority"], case["priority"]))
        + cell(case["summary"])
        + cell(part.get("department"))
        + deadline(part.get("accept_due"), bool(part.get("accept_overdue")), zone)
        + deadline(part.get("reply_due"), bool(part.get("reply_overdue")), zone)
        + "</tr>"
    )


DESK_HEADERS = ("工单编号", "状态", "分类", "紧急程度", "摘要", "承办单位", "签收时限", "办理时限")


def facts(found: Json, zone: tzinfo, categories: Mapping[str, str]) -> str:
    """The case itself: what the citizen asked, where, how urgent (masked as the JSON is)."""
    case = found["case"]
    rows = [
        ("工单编号", case.get("number")),
        ("状态", case["status_label"]),
        ("分类", categories.get(case["category"], case["category"])),
        ("紧急程度", PRIORITY_LABELS.get(case["priority"], case["priority"])),
        ("来电号码", case.get("caller_number")),
        ("姓名", case.get("caller_name")),
        ("联系电话", case.get("contact_phone")),
        ("地址", case.get("address")),
        ("诉求摘要", case.get("summary")),
        ("市民原话", case.get("transcript")),
        ("受理时间", when(case.get("created_at"), zone)),
    ]
    items = "".join(
        f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows if v not in (None, "")
    )
    warning = ""
    if case.get("identity_masked"):
        warning = '<p class="wf-masked" id="identity-masked">举报件：举报人信息已保密。</p>'
    return f'{warning}<dl id="case-facts" class="wf-facts">{items}</dl>'


def assignments(found: Json, zone: tzinfo) -> str:
    """Every department's part, round by round."""
    rows = []
    latest = max((part["round"] for part in found["assignments"]), default=0)
    merged = bool(found.get("merged_into"))
    for part in found["assignments"]:
        # a merged case's last round ended with the merge (the main case's work answers it)
        ended = merged and part["round"] == latest and part.get("withdrawn_at")
        state = "已并单，撤回" if ended else _part_state(part, zone)
        rows.append(
            f'<tr class="{"is-current" if part["current"] else "is-past"}">'
            + cell(part["round"])
            + cell(KIND_LABELS.get(part["kind"], part["kind"]))
            + cell(part["department"])
            + cell(ROLE_LABELS.get(part["role"], part["role"]))
            + cell(when(part["dispatched_at"], zone))
            + deadline(part["accept_due"], part["accept_overdue"], zone)
            + deadline(part["reply_due"], part["reply_overdue"], zone)
            + cell(state)
            + cell(part.get("instructions"))
            + "</tr>"
        )
    headers = (
        "轮次",
        "方式",
        "单位",
        "主/协办",
        "交办时间",
        "签收时限",
        "办理时限",
        "情况",
        "交办意见/市民原话",
    )
    return table("assignments", headers, rows, "尚未交办")


def records(found: Json, zone: tzinfo) -> str:
    """Replies, extension requests, notes and follow-ups, a section each."""
    return "\n".join(
        section(key, title, table(list_id, headers, (row(x, zone) for x in found[key]), empty))
        for key, title, list_id, headers, empty, row in _RECORDS
    )


def _reply_row(r: Json, zone: tzinfo) -> str:
    return (
        f'<tr class="wf-reply">{cell(r["department"])}{cell(r["result"])}{cell(r["handler"])}'
        f"{cell(r['handled_on'])}{cell(when(r['written_at'], zone))}</tr>"
    )


def _extension_row(e: Json, zone: tzinfo) -> str:
    return (
        f"<tr>{cell(e['department'])}{cell(e['days'])}{cell(e['reason'])}"
        f"{cell(DECISION_LABELS.get(e['decision'], e['decision']))}{cell(e['decision_note'])}"
        f"{cell(when(e['new_due'], zone))}</tr>"
    )


def _note_row(n: Json, zone: tzinfo) -> str:
    return (
        f"<tr>{cell(when(n['at'], zone))}{cell(n['department'] or '热线办')}{cell(n['author'])}"
        f"{cell(n['text'])}</tr>"
    )


def _survey_row(s: Json, zone: tzinfo) -> str:
    return (
        f"<tr>{cell(when(s['at'], zone))}{cell('已解决' if s['resolved'] else '未解决')}"
        f"{cell(_satisfaction(s['satisfaction']))}{cell(s['citizen_words'])}"
        f"{cell(s['override_reason'])}{cell('是' if s['reopened'] else '否')}</tr>"
    )


Row = Callable[[Json, tzinfo], str]
_RECORDS: tuple[tuple[str, str, str, tuple[str, ...], str, Row], ...] = (
    (
        "replies",
        "回复",
        "reply-list",
        ("单位", "办理结果", "经办人", "办结日期", "填报时间"),
        "尚未回复",
        _reply_row,
    ),
    (
        "extensions",
        "延期申请",
        "extension-list",
        ("单位", "天数", "理由", "审批", "意见", "新时限"),
        "没有延期申请",
        _extension_row,
    ),
    ("notes", "办理进展", "note-list", ("时间", "单位", "填写人", "内容"), "暂无", _note_row),
    (
        "surveys",
        "回访",
        "survey-list",
        ("时间", "是否解决", "满意度", "市民意见", "不重办理由", "重新办理"),
        "尚未回访",
        _survey_row,
    ),
)


def timeline(found: Json, zone: tzinfo) -> str:
    """The audit trail, oldest first."""
    rows = [
        f'<tr data-kind="{escape(e["kind"])}">{cell(when(e["at"], zone))}{cell(e["label"])}'
        f"{cell(e['actor'])}{cell(e.get('note'))}</tr>"
        for e in found["timeline"]
    ]
    return section(
        "timeline",
        "办理记录",
        table("timeline-list", ("时间", "环节", "操作人", "说明"), rows, "暂无"),
    )


def options(names: Iterable[str], chosen: Iterable[str] = ()) -> str:
    """<option>s for departments, the chosen ones selected."""
    picked = set(chosen)
    return "".join(
        f'<option value="{escape(n)}"{" selected" if n in picked else ""}>{escape(n)}</option>'
        for n in names
    )


def _satisfaction(value: str) -> str:
    labels = {k.value: v for k, v in SATISFACTION_LABELS.items()}
    return labels.get(value, value)


def _part_state(part: Json, zone: tzinfo) -> str:
    if part.get("withdrawn_at"):
        return "已改派"
    if part.get("returned_at") and not part.get("return_rejected_at"):
        return f"已退单：{part.get('return_reason') or ''}"
    if part.get("replied_at"):
        return f"已回复 {when(part['replied_at'], zone)}"
    if part.get("accepted_at"):
        return f"已签收 {when(part['accepted_at'], zone)}"
    return "待签收"
