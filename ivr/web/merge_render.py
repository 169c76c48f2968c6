"""HTML of 并单 on a case's page: the main case a merged case follows, the cases merged into a
main case, and for the office the cases it may duplicate, each with its merge buttons.

Rendered from the same JSON the API returns (ivr.web.workflow_json, ivr.web.merge_api).
The buttons are workflow forms (workflow.js posts them as JSON with the CSRF header); each
carries the versions of both cases as the page saw them, so a merge decided on a page that
has since changed is refused instead of carried out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from html import escape
from typing import Any

from ivr.web.workflow_render import case_link, cell, section, table, when

Json = Mapping[str, Any]


def merged_into_notice(found: Json) -> str:
    """A merged case says which case it follows (empty for any other)."""
    main = found.get("merged_into")
    if not main:
        return ""
    return (
        f'<p id="merged-into" class="notice">本工单已并入 {case_link(main)}，'
        "随主工单办理、回复，并单独回访。</p>"
    )


def merged_cases(found: Json, zone: tzinfo, *, links: bool) -> str:
    """The cases merged into this one (linked for the office, who may open them)."""
    rows = [
        f'<tr data-case="{int(c["id"])}">'
        + (f"<td>{case_link(c)}</td>" if links else cell(c.get("number")))
        + cell(c["status_label"])
        + cell(c.get("summary"))
        + cell(c.get("address"))
        + cell(when(c.get("created_at"), zone))
        + "</tr>"
        for c in found.get("merged_cases", ())
    ]
    if not rows:
        return ""
    headers = ("工单编号", "状态", "摘要", "地址", "受理时间")
    return section("merged", "并单工单", table("merged-list", headers, rows, ""))


def duplicates_section(case: Json, suggestions: Json, zone: tzinfo) -> str:
    """The office's 可能重复的工单, with the score, the reasons and the merge buttons."""
    rows = [_row(case, item, zone) for item in suggestions["suggestions"]]
    days = int(suggestions["window_days"])
    headers = ("工单编号", "状态", "相似度", "相同之处", "摘要", "受理时间", "并单")
    body = table("duplicate-list", headers, rows, f"{days} 天内没有发现可能重复的工单")
    return section("duplicates", "可能重复的工单", body)


def _row(case: Json, item: Json, zone: tzinfo) -> str:
    other = item["case"]
    reasons = [*item["shared_words"]]
    if item.get("shared_place"):
        reasons.insert(0, f"地点：{item['shared_place']}")
    if item.get("same_category"):
        reasons.append("同一分类")
    via = "、".join(_number(v) for v in item.get("via", ()))
    if via:
        reasons.append(f"（其并单工单 {via} 相似）")
    return (
        f'<tr class="wf-duplicate" data-case="{int(other["id"])}"><td>{case_link(other)}</td>'
        + cell(other["status_label"])
        + cell(f"{round(float(item['score']) * 100)}%")
        + cell("；".join(reasons))
        + cell(other.get("summary"))
        + cell(when(other.get("created_at"), zone))
        + f"<td>{_buttons(case, item)}</td></tr>"
    )


def _buttons(case: Json, item: Json) -> str:
    other = item["case"]
    forms = []
    if item.get("may_join_it"):  # this case into the suggested one
        forms.append(_merge_form(case, other, "并入该单", f"已并单：本单并入 {_number(other)}"))
    if item.get("may_join_this"):  # the suggested case into this one
        forms.append(_merge_form(other, case, "并入本单", f"已并单：{_number(other)} 并入本单"))
    return "".join(forms) or '<span class="muted">不可并单</span>'


def _number(case: Json) -> str:
    return str(case.get("number") or f"#{case['id']}")


def _merge_form(child: Json, main: Json, label: str, done: str) -> str:
    return (
        f'<form class="wf-move wf-inline wf-merge" data-url="/api/workflow/cases/'
        f'{int(child["id"])}/merge" data-done="{escape(done)}">'
        f'<input type="hidden" name="into" value="{int(main["id"])}" data-type="int">'
        f'<input type="hidden" name="version" value="{int(child["version"])}" data-type="int">'
        f'<input type="hidden" name="into_version" value="{int(main["version"])}"'
        ' data-type="int">'
        f'<button type="submit">{escape(label)}</button></form>'
    )
