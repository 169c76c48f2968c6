"""HTML of the alerts pages, rendered from the alerts API's JSON (a page never shows more than
the API would). Every value goes through `escape`; forms carry `data-url` and are sent by
workflow.js as JSON with the CSRF header."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from html import escape
from typing import Any

from ivr.reports.special import SpecialReport
from ivr.web.workflow_render import cell, section, table, when

Json = Mapping[str, Any]
CASE_HEADERS = ("工单编号", "来电时间", "来电号码", "地址", "诉求摘要", "承办单位")


def alert_card(alert: Json, cases: Sequence[Json], zone: tzinfo, *, office: bool) -> str:
    """One alert: what, when, how many against the usual, its moves and its first cases."""
    alert_id = int(alert["id"])
    rows = [_case_row(case, zone, link=office) for case in cases]
    more = int(alert["case_count"]) - len(cases)
    tail = f'<p class="muted">另有 {more} 件，见专报预览。</p>' if more > 0 else ""
    return (
        f'<article class="alert-card is-{escape(alert["state"])}" id="alert-{alert_id}" '
        f'data-alert="{alert_id}"><header>'
        f'<span class="alert-kind kind-{escape(alert["kind"])}">'
        f"{escape(alert['kind_label'])}</span>"
        f"<h2>{escape(alert['title'])}</h2>"
        f'<span class="alert-state">{escape(alert["state_label"])}</span></header>'
        f"{_facts(alert, zone)}{_actions(alert, office)}"
        + table(f"alert-{alert_id}-cases", CASE_HEADERS, rows, "没有工单")
        + tail
        + "</article>"
    )


def _facts(alert: Json, zone: tzinfo) -> str:
    details = alert.get("details") or {}
    parts = [
        f"时段 {when(alert['window_start'], zone)} 至 {when(alert['window_end'], zone)}",
        f"发现于 {when(alert['raised_at'], zone)}",
        f"共 {int(alert['case_count'])} 件",
    ]
    if alert.get("baseline") is not None:
        parts.append(f"常态约 {float(alert['baseline']):.1f} 件")
    if alert.get("acknowledged_by"):
        parts.append(f"{alert['acknowledged_by']} 于 {when(alert['acknowledged_at'], zone)} 确认")
    words = "、".join(str(w) for w in details.get("words", []))
    places = "、".join(str(name) for name, _ in details.get("places", []))
    lines = [" · ".join(parts)]
    lines += [f"关键词：{words}"] if words else []
    lines += [f"地点：{places}"] if places else []
    return "".join(f'<p class="alert-facts">{escape(line)}</p>' for line in lines)


def _actions(alert: Json, office: bool) -> str:
    alert_id = int(alert["id"])
    links = (
        f'<a href="/alerts/{alert_id}/report">专报预览</a> · '
        f'<a href="/alerts/{alert_id}/report.pdf">下载专报（PDF）</a>'
    )
    forms = ""
    if office and alert["state"] == "open":
        forms += _move(alert_id, "acknowledge", "确认", "已确认预警")
    if office and alert["state"] in ("open", "acknowledged"):
        forms += _move(alert_id, "close", "关闭", "已关闭预警")
    return f'<div class="alert-actions">{forms}<span>{links}</span></div>'


def _move(alert_id: int, move: str, label: str, done: str) -> str:
    return (
        f'<form class="wf-move wf-inline" data-url="/api/alerts/{alert_id}/{move}" '
        f'data-done="{done}"><button type="submit" id="{move}-{alert_id}">{label}</button></form>'
    )


def _case_row(case: Json, zone: tzinfo, *, link: bool) -> str:
    number = escape(str(case.get("number") or f"#{case['id']}"))
    first = (
        f'<a class="wf-case" href="/workflow/cases/{int(case["id"])}">{number}</a>'
        if link
        else number
    )
    return (
        f'<tr data-case="{int(case["id"])}"><td>{first}</td>'
        + cell(when(case["created_at"], zone))
        + cell(case.get("caller_number"))
        + cell(case.get("address"))
        + cell(case.get("summary"))
        + cell(case.get("department"))
        + "</tr>"
    )


def words_body(words: Sequence[Json], zone: tzinfo) -> str:
    """The sensitive-word list with its add form and switch-off buttons."""
    add = (
        '<form class="wf-move" id="word-add" data-url="/api/alerts/words" data-done="已添加敏感词">'
        '<label for="word">新增敏感词（2–20 字；来电摘要或原话中出现即预警）</label>'
        '<input type="text" id="word" name="word" maxlength="64" autocomplete="off">'
        '<button type="submit">添加</button></form>'
    )
    rows = [_word_row(word, zone) for word in words]
    listed = table("word-list", ("敏感词", "状态", "添加人", "添加时间", ""), rows, "敏感词表为空")
    return section("word-form", "添加", add) + section("words", "敏感词表", listed)


def _word_row(word: Json, zone: tzinfo) -> str:
    word_id = int(word["id"])
    off = (
        f'<form class="wf-move wf-inline" data-url="/api/alerts/words/{word_id}/deactivate" '
        f'data-done="已停用"><button type="submit" id="word-off-{word_id}">停用</button></form>'
        if word["active"]
        else ""
    )
    return (
        f'<tr data-word="{word_id}" class="{"is-active" if word["active"] else "is-past"}">'
        + cell(word["word"])
        + cell("使用中" if word["active"] else "已停用")
        + cell(word["added_by"])
        + cell(when(word["added_at"], zone))
        + f"<td>{off}</td></tr>"
    )


def report_body(report: SpecialReport) -> str:
    """The 专报 draft as a page: the PDF's sections, the chart as bars in a table."""
    bars = [
        f"<tr>{cell(bar.label)}{cell(bar.count)}"
        f'<td><progress max="{_top(report)}" value="{bar.count}">{bar.count}</progress></td>'
        f"{cell('' if bar.usual is None else f'{bar.usual:.1f}')}</tr>"
        for bar in report.bars
    ]
    places = [f"<tr>{cell(name)}{cell(n)}</tr>" for name, n in report.places]
    departments = [f"<tr>{cell(name)}{cell(n)}</tr>" for name, n in report.departments]
    quotes = "".join(f"<blockquote>{escape(q)}</blockquote>" for q in report.quotes)
    link = (
        f'<p><a href="/alerts/{report.alert_id}/report.pdf">下载 PDF</a> · '
        '<a href="/alerts">返回预警列表</a></p>'
    )
    return "\n".join(
        [
            link,
            section("overview", "一、基本情况", f"<p>{escape(report.overview)}</p>"),
            section(
                "series",
                "二、来电走势",
                table("series-list", ("时段", "来电数", "", "常态水平"), bars, "无"),
            ),
            section(
                "places",
                "三、涉及地点",
                table("place-list", ("地点", "来电数"), places, "来电未提及具体地点"),
            ),
            section(
                "quotes",
                "四、群众反映（摘录）",
                quotes or '<p class="muted">无可公开摘录的原话</p>',
            ),
            section(
                "departments",
                "五、涉及部门",
                table("department-list", ("承办单位", "工单数"), departments, "无"),
            ),
            section("suggestion", "六、处理建议", f"<p>{escape(report.suggestion)}</p>"),
        ]
    )


def _top(report: SpecialReport) -> int:
    return max([1, *(bar.count for bar in report.bars)])
