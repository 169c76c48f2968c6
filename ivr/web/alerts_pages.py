"""The alerts pages (热点预警): the office's list of alerts, its sensitive-word list, and the
专报 draft of an alert as a page and as a PDF.

GET /alerts                     office, leader: alerts, open first, with their first cases
GET /alerts/words               office: the sensitive-word list, add and switch off
GET /alerts/{id}/report         office, leader: the 专报 draft as a page
GET /alerts/{id}/report.pdf     office, leader: ... as a PDF (made in a worker thread)

Rendered from the alerts API's JSON, so a leader sees whistleblowers masked as the API
does; the office's case numbers link to the case pages. Moves go through the API
(workflow.js, with the CSRF header).
"""

from __future__ import annotations

import asyncio
from html import escape

from aiohttp import web

from ivr.db import hot_topic_views, hot_topics, sensitive_words
from ivr.db.insight_models import AlertState
from ivr.db.models import Role
from ivr.reports import special
from ivr.web.alerts_api import READERS, alert_of, filters
from ivr.web.alerts_json import KIND_LABELS, alert_json, case_json, word_json
from ivr.web.alerts_render import alert_card, report_body, words_body
from ivr.web.guard import logged_in, require_role
from ivr.web.html import page
from ivr.web.pages import user_bar
from ivr.web.state import clock_key, db_key, policy_key
from ivr.web.workflow_pages import SCRIPTS, STATUS_LINES

STYLES = ("workflow.css", "alerts.css")
SHOWN_CASES = 10
LISTED = 50


@require_role(*READERS)
async def alerts_page(request: web.Request) -> web.StreamResponse:
    """Alerts, open ones first, each with its first cases."""
    app, role = request.config_dict, logged_in(request).user.role
    states, kinds = filters(request)
    found = await hot_topics.list_alerts(app[db_key], states=states, kinds=kinds, limit=LISTED)
    cases = await hot_topic_views.first_cases(app[db_key], [a.id for a in found], each=SHOWN_CASES)
    zone, office = app[policy_key].timezone, role is Role.OFFICE
    cards = [
        alert_card(alert_json(a), [case_json(c, role) for c in cases[a.id]], zone, office=office)
        for a in found
    ]
    empty = '<p class="muted" id="alerts-empty">暂无预警</p>'
    open_count = sum(a.state is AlertState.OPEN for a in found)
    head = f'<p id="alerts-open">本页待处理 {open_count} 条 · {_filters()}</p>'
    body = _nav(role) + STATUS_LINES + head + ("\n".join(cards) or empty)
    return _page(request, "热点预警", body)


@require_role(Role.OFFICE)
async def words_page(request: web.Request) -> web.StreamResponse:
    """The sensitive-word list."""
    app = request.config_dict
    words = [word_json(w) for w in await sensitive_words.list_words(app[db_key])]
    body = _nav(Role.OFFICE) + STATUS_LINES + words_body(words, app[policy_key].timezone)
    return _page(request, "敏感词表", body)


@require_role(*READERS)
async def report_page(request: web.Request) -> web.StreamResponse:
    """The 专报 draft as a page."""
    report = await _report(request)
    return _page(request, report.title, report_body(report))


@require_role(*READERS)
async def report_pdf(request: web.Request) -> web.StreamResponse:
    """The 专报 draft as a PDF."""
    report = await _report(request)
    pdf = await asyncio.to_thread(special.render_pdf, report)
    name = f"hot-topic-{report.alert_id}.pdf"
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _report(request: web.Request) -> special.SpecialReport:
    app = request.config_dict
    alert = await alert_of(request)
    cases = await hot_topic_views.alert_cases(app[db_key], alert.id)
    zone = app[policy_key].timezone
    return special.build(alert, cases, now=app[clock_key](), zone=zone)


def _filters() -> str:
    links = [("/alerts?state=open", "只看待处理"), ("/alerts", "全部")]
    links += [(f"/alerts?kind={kind.value}", label) for kind, label in KIND_LABELS.items()]
    return " · ".join(f'<a href="{url}">{escape(label)}</a>' for url, label in links)


def _nav(role: Role) -> str:
    links = [("/alerts", "热点预警")]
    if role is Role.OFFICE:
        links += [("/alerts/words", "敏感词表"), ("/wallboard", "话务大屏"), ("/office", "管理台")]
    else:
        links += [("/wallboard", "话务大屏"), ("/leader", "工作台")]
    items = " · ".join(f'<a href="{url}">{escape(label)}</a>' for url, label in links)
    return f'<nav class="wf-nav">{items}</nav>'


def _page(request: web.Request, title: str, body: str) -> web.Response:
    session = logged_in(request)
    return page(
        title,
        body,
        header=user_bar(session),
        csrf_token=session.csrf_token,
        scripts=SCRIPTS,
        styles=STYLES,
        wide=True,
    )
