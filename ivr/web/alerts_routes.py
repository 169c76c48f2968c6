"""Every route of 热点预警 in one table: the alerts API (ivr.web.alerts_api) and pages
(ivr.web.alerts_pages)."""

from __future__ import annotations

from aiohttp import web

from ivr.db.insight_models import AlertState
from ivr.web import alerts_api as api
from ivr.web import alerts_pages as pages

ALERT = r"{alert_id:\d+}"
WORD = r"{word_id:\d+}"


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the alerts API and pages."""
    router.add_get("/api/alerts", api.list_alerts)
    router.add_get("/api/alerts/words", api.list_words)
    router.add_post("/api/alerts/words", api.add_word)
    router.add_post(f"/api/alerts/words/{WORD}/deactivate", api.deactivate_word)
    router.add_get(f"/api/alerts/{ALERT}", api.show_alert)
    router.add_post(f"/api/alerts/{ALERT}/acknowledge", api.mover(AlertState.ACKNOWLEDGED))
    router.add_post(f"/api/alerts/{ALERT}/close", api.mover(AlertState.CLOSED))
    router.add_get("/alerts", pages.alerts_page)
    router.add_get("/alerts/words", pages.words_page)
    router.add_get(f"/alerts/{ALERT}/report", pages.report_page)
    router.add_get(f"/alerts/{ALERT}/report.pdf", pages.report_pdf)
