"""The office's dispatch page (交办台) in HTML: cases to dispatch, returns and extension
requests to decide, cases in progress and to close, and the dispatch catalogue editor.
Rendered from the board JSON of ivr.web.workflow_api."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ivr.db.workflow_catalogue import CatalogueEntry, DepartmentView
from ivr.web.workflow_render import (
    DESK_HEADERS,
    PRIORITY_LABELS,
    case_link,
    cell,
    desk_row,
    options,
    section,
    table,
    when,
)

Json = Mapping[str, Any]


def board_sections(
    board: Json,
    zone: ZoneInfo,
    categories: Mapping[str, str],
    suggestions: Mapping[int, str | None],
    departments: Sequence[str],
) -> list[str]:
    """The office's lists, each a section."""

    def to_dispatch(line: Json) -> str:
        suggested = suggestions.get(int(line["case"]["id"]))
        return _dispatch_row(line, zone, categories, suggested, departments)

    def in_desk(line: Json) -> str:
        return desk_row(line, zone, categories)

    lists: list[tuple[str, str, str, Sequence[str], str, Callable[[Json], str]]] = [
        (
            "to_dispatch",
            "待交办",
            "dispatch-list",
            DISPATCH_HEADERS,
            "没有待交办的工单",
            to_dispatch,
        ),
        (
            "returned",
            "退单待审",
            "return-list",
            RETURN_HEADERS,
            "没有退单",
            lambda line: _returned_row(line, zone),
        ),
        (
            "extensions",
            "延期申请",
            "extension-request-list",
            EXTENSION_HEADERS,
            "没有待审批的延期申请",
            lambda line: _extension_row(line, zone),
        ),
        ("working", "办理中", "working-list", DESK_HEADERS, "没有办理中的工单", in_desk),
        (
            "closing",
            "待回访 / 待归档",
            "closing-list",
            DESK_HEADERS,
            "没有待回访或待归档的工单",
            in_desk,
        ),
    ]
    return [
        section(name.replace("_", "-"), title, table(key, heads, map(row, board[name]), empty))
        for name, title, key, heads, empty, row in lists
    ]


DISPATCH_HEADERS = ("工单编号", "受理时间", "分类", "紧急程度", "摘要", "交办给")
RETURN_HEADERS = ("工单编号", "退单单位", "退单时间", "理由")
EXTENSION_HEADERS = ("工单编号", "单位", "天数", "理由", "原时限", "审批")


def catalogue_section(
    entries: Sequence[CatalogueEntry],
    departments: Sequence[DepartmentView],
    categories: Mapping[str, str],
) -> str:
    """The departments list and the catalogue, each with its forms."""
    active = [d.name for d in departments if d.active]
    by_code = {entry.category: entry for entry in entries}
    codes = list(dict.fromkeys([*categories, *by_code]))
    rows = [
        _catalogue_row(code, categories.get(code, code), by_code.get(code), active)
        for code in codes
    ]
    people = [
        f'<tr data-department="{escape(d.name)}">{cell(d.name)}'
        + cell("在用" if d.active else "已停用")
        + (
            '<td><form class="wf-move wf-inline" data-method="DELETE"'
            f' data-url="/api/workflow/departments/{quote(d.name, safe="")}"'
            f' data-done="已停用 {escape(d.name)}">'
            '<button type="submit">停用</button></form></td>'
            if d.active
            else "<td></td>"
        )
        + "</tr>"
        for d in departments
    ]
    return section(
        "catalogue",
        "派单目录",
        f"""<form id="seed-form" class="wf-move wf-inline" data-url="/api/workflow/catalogue/seed"
 data-done="已从分类表导入">
<button type="submit" id="seed-catalogue">从分类表导入单位与默认派单</button></form>
{table("catalogue-list", ("分类", "主办单位", "协办单位", ""), rows, "没有分类")}
<h3>承办单位名单</h3>
{table("department-list", ("单位", "状态", ""), people, "名单为空：请添加或从分类表导入")}
<form id="department-form" class="wf-move wf-inline" data-url="/api/workflow/departments"
 data-done="已添加承办单位">
<label>单位名称 <input type="text" name="name" maxlength="128" required></label>
<button type="submit" id="department-add">添加承办单位</button></form>""",
    )


def _dispatch_row(
    line: Json,
    zone: ZoneInfo,
    categories: Mapping[str, str],
    suggested: str | None,
    departments: Sequence[str],
) -> str:
    case = line["case"]
    blank = '<option value="">请选择</option>' if suggested is None else ""
    form = (
        f'<form class="wf-move wf-inline" data-url="/api/workflow/cases/{int(case["id"])}/dispatch"'
        f' data-done="已交办 {escape(str(case["number"]))}">'
        f'<select name="department" required>{blank}'
        f"{options(departments, [suggested] if suggested else [])}</select>"
        '<button type="submit">交办</button></form>'
    )
    return (
        f'<tr data-case="{int(case["id"])}"><td>{case_link(case)}</td>'
        + cell(when(case.get("created_at"), zone))
        + cell(categories.get(case["category"], case["category"]))
        + cell(PRIORITY_LABELS.get(case["priority"], case["priority"]))
        + cell(case["summary"])
        + f"<td>{form}</td></tr>"
    )


def _returned_row(line: Json, zone: ZoneInfo) -> str:
    case, part = line["case"], line.get("assignment") or {}
    return (
        f'<tr data-case="{int(case["id"])}"><td>{case_link(case)}</td>'
        + cell(part.get("department"))
        + cell(when(part.get("returned_at"), zone))
        + cell(part.get("return_reason"))
        + "</tr>"
    )


def _extension_row(line: Json, zone: ZoneInfo) -> str:
    case, asked = line["case"], line["request"]
    base = f"/api/workflow/cases/{int(case['id'])}/extension"
    decide = (
        f'<form class="wf-move wf-inline" data-url="{base}/approve" data-done="已批准延期">'
        '<button type="submit" class="approve">批准</button></form>'
        f'<form class="wf-move wf-inline" data-url="{base}/deny" data-done="已驳回延期">'
        '<input type="text" name="reason" placeholder="驳回理由" required maxlength="200">'
        '<button type="submit">驳回</button></form>'
    )
    return (
        f'<tr data-case="{int(case["id"])}"><td>{case_link(case)}</td>'
        + cell(asked["department"])
        + cell(asked["days"])
        + cell(asked["reason"])
        + cell(when(asked["previous_due"], zone))
        + f"<td>{decide}</td></tr>"
    )


def _catalogue_row(
    code: str, name: str, entry: CatalogueEntry | None, active: Sequence[str]
) -> str:
    lead = entry.lead if entry else None
    co = entry.co if entry else ()
    blank = '<option value="">请选择</option>' if lead is None else ""
    form = (
        f'<form class="wf-move wf-inline" data-method="PUT" '
        f'data-url="/api/workflow/catalogue/{quote(code, safe="")}"'
        f' data-done="已保存 {escape(name)}">'
        f'<select name="lead" required>{blank}{options(active, [lead] if lead else [])}</select>'
        f'<select name="co" multiple size="2">{options(active, co)}</select>'
        '<button type="submit">保存</button></form>'
    )
    return (
        f'<tr data-category="{escape(code)}">{cell(f"{name}（{code}）")}{cell(lead or "未设置")}'
        f"{cell('、'.join(co))}<td>{form}</td></tr>"
    )
