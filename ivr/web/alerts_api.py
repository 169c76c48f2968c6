"""The alerts API: hot-topic alerts with their cases, the office's moves on them, and the
sensitive-word list.

GET  /api/alerts                          office, leader: alerts, open first (?state=open,
                                          ?kind=surge|place|repeat|sensitive)
GET  /api/alerts/{alert_id}               office, leader: one alert and all its cases
POST /api/alerts/{alert_id}/acknowledge   office: 确认 (open → acknowledged)
POST /api/alerts/{alert_id}/close         office: 关闭 (open or acknowledged → closed)
GET  /api/alerts/words                    office: the sensitive-word list
POST /api/alerts/words                    office: {"word": "..."} puts a word on it
POST /api/alerts/words/{word_id}/deactivate   office: takes a word off (kept on record)

A move the alert's state no longer allows is 409; a bad word 400, one already on the list
409, each with a message in Chinese and nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from ivr.db import hot_topic_views, hot_topics, sensitive_words
from ivr.db.calls import Sessions
from ivr.db.insight_models import AlertKind, AlertState
from ivr.db.models import Role
from ivr.errors import RecordNotFound, StaleEdit, ValidationError
from ivr.web.alerts_json import alert_json, case_json, word_json
from ivr.web.cases_api import json_body, path_id
from ivr.web.guard import Handler, logged_in, require_role, signed
from ivr.web.state import db_key

LIST_LIMIT = 100
WALLBOARD_NEWEST = 3
READERS = (Role.OFFICE, Role.LEADER)
STATES = {"open": (AlertState.OPEN,), "all": hot_topics.STATE_ORDER}


@require_role(*READERS)
async def list_alerts(request: web.Request) -> web.StreamResponse:
    """Alerts, open ones first."""
    states, kinds = filters(request)
    found = await hot_topics.list_alerts(
        request.config_dict[db_key], states=states, kinds=kinds, limit=LIST_LIMIT
    )
    return web.json_response({"alerts": [alert_json(alert) for alert in found]})


@require_role(*READERS)
async def show_alert(request: web.Request) -> web.StreamResponse:
    """One alert with every case behind it."""
    alert = await alert_of(request)
    role = logged_in(request).user.role
    cases = await hot_topic_views.alert_cases(request.config_dict[db_key], alert.id)
    return web.json_response(
        {"alert": alert_json(alert), "cases": [case_json(case, role) for case in cases]}
    )


def filters(request: web.Request) -> tuple[Sequence[AlertState], Sequence[AlertKind]]:
    """The states (?state=open|all) and kinds (?kind=surge...) asked for; 400 for others."""
    states = STATES.get(request.query.get("state", "all"))
    if states is None:
        raise web.HTTPBadRequest(text="state 只能是 open 或 all")
    kind = request.query.get("kind", "")
    if kind and kind not in set(AlertKind):
        raise web.HTTPBadRequest(text="kind 只能是 " + "、".join(AlertKind))
    return states, (AlertKind(kind),) if kind else tuple(AlertKind)


async def alert_of(request: web.Request) -> hot_topics.AlertView:
    """The alert named in the URL, or 404."""
    alert_id = path_id(request, "alert_id")
    try:
        return await hot_topics.get_alert(request.config_dict[db_key], alert_id)
    except RecordNotFound:
        raise web.HTTPNotFound(text=f"没有编号为 {alert_id} 的预警") from None


async def wallboard_alerts(db: Sessions) -> dict[str, Any]:
    """What the wallboard shows of the alerts: how many are open, the newest titles."""
    count, newest = await hot_topics.open_summary(db, newest=WALLBOARD_NEWEST)
    shown = [
        {"id": a.id, "kind_label": alert_json(a)["kind_label"], "title": a.title} for a in newest
    ]
    return {"open": count, "newest": shown}


def mover(to: AlertState) -> Handler:
    """The handler that moves an alert to `to`."""

    @require_role(Role.OFFICE)
    async def move(request: web.Request) -> web.StreamResponse:
        alert_id = path_id(request, "alert_id")
        db = request.config_dict[db_key]
        try:
            moved = await hot_topics.move_alert(db, alert_id, to, **signed(request))
        except RecordNotFound:
            raise web.HTTPNotFound(text=f"没有编号为 {alert_id} 的预警") from None
        except StaleEdit as exc:
            raise web.HTTPConflict(text=str(exc)) from exc
        return web.json_response({"alert": alert_json(moved)})

    move.__name__ = move.__qualname__ = f"alert_{to.value}"
    return move


@require_role(Role.OFFICE)
async def list_words(request: web.Request) -> web.StreamResponse:
    """The sensitive-word list."""
    found = await sensitive_words.list_words(request.config_dict[db_key])
    return web.json_response({"words": [word_json(word) for word in found]})


@require_role(Role.OFFICE)
async def add_word(request: web.Request) -> web.StreamResponse:
    """Put a word on the list."""
    body = await json_body(request)
    who = signed(request)
    try:
        word = await sensitive_words.add_word(
            request.config_dict[db_key], body.get("word"), actor=who["actor"], at=who["at"]
        )
    except sensitive_words.DuplicateWord as exc:
        raise web.HTTPConflict(text=str(exc)) from exc
    except ValidationError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response({"word": word_json(word)}, status=201)


@require_role(Role.OFFICE)
async def deactivate_word(request: web.Request) -> web.StreamResponse:
    """Take a word off the list."""
    word_id = path_id(request, "word_id")
    actor = logged_in(request).user.username
    try:
        word = await sensitive_words.deactivate_word(
            request.config_dict[db_key], word_id, actor=actor
        )
    except RecordNotFound:
        raise web.HTTPNotFound(text=f"没有编号为 {word_id} 的敏感词") from None
    return web.json_response({"word": word_json(word)})
