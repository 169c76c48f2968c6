"""The office's live wallboard: the queue now, today's service figures and the agents.

GET /wallboard      the page (for 热线办 and 值班领导); /static/wallboard.js fills it
GET /api/wallboard  the figures as JSON, polled every 2 s

What each figure counts is defined in `ivr.db.wallboard`. Rates go out as percentages
rounded to one decimal, so the page highlights exactly what it shows. Agent counts come
from the presence map Asterisk feeds; without a logged-in AMI and a rebuilt map they are
null (the page says the telephony system is not connected) rather than zeros.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.db.models import Role
from ivr.db.wallboard import ANSWER_THRESHOLD_SECONDS, Figures, Tally, wallboard_figures
from ivr.handlers.agent_presence import AgentState
from ivr.web.alerts_api import wallboard_alerts
from ivr.web.guard import logged_in, require_role
from ivr.web.html import page
from ivr.web.pages import user_bar
from ivr.web.presence import telephony_key
from ivr.web.state import clock_key, db_key, policy_key

TITLE = "话务实时大屏"
# below these the page shows the figure in red (GB/T 33358-2016 asks for 95 % answered)
TARGETS = {"service_level": 95.0, "answer_rate_24h": 95.0, "longest_wait_seconds": 60.0}
SHOWN_STATES = (AgentState.READY, AgentState.PAUSED, AgentState.RINGING, AgentState.ON_CALL)


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the wallboard page and its API."""
    router.add_get("/wallboard", wallboard_page)
    router.add_get("/api/wallboard", wallboard_api)


@require_role(Role.OFFICE, Role.LEADER)
async def wallboard_page(request: web.Request) -> web.StreamResponse:
    """The wallboard page; its numbers arrive from /api/wallboard."""
    session = logged_in(request)
    return page(
        TITLE,
        _body(),
        header=user_bar(session),
        csrf_token=session.csrf_token,
        scripts=("wallboard.js",),
        styles=("wallboard.css", "alerts.css"),
        wide=True,
    )


@require_role(Role.OFFICE, Role.LEADER)
async def wallboard_api(request: web.Request) -> web.StreamResponse:
    """The queue figures now, and the agent counts when telephony is up."""
    app = request.config_dict
    zone = app[policy_key].timezone
    figures = await wallboard_figures(app[db_key], now=app[clock_key](), zone=zone)
    body = figures_json(figures) | {"timezone": zone.key, "agents": agent_counts(request)}
    body["alerts"] = await wallboard_alerts(app[db_key])  # 热点预警
    return web.json_response(body)


def figures_json(figures: Figures) -> dict[str, Any]:
    """The JSON form of the figures (rates in percent, one decimal)."""
    return {
        "at": figures.at.isoformat(),
        "service_day": figures.service_day.isoformat(),
        "threshold_seconds": figures.threshold_seconds,
        "waiting": figures.waiting,
        "longest_wait_seconds": _rounded(figures.longest_wait),
        "stale": figures.stale,
        "today": tally_json(figures.today),
        "last_24h": tally_json(figures.last_24h),
        "targets": TARGETS,
    }


def tally_json(tally: Tally) -> dict[str, Any]:
    """One period's counts and rates."""
    return {
        "offered": tally.offered,
        "answered": tally.answered,
        "answered_within": tally.answered_within,
        "abandoned": tally.abandoned,
        "service_level": _percent(tally.service_level),
        "answer_rate": _percent(tally.answer_rate),
        "average_wait_seconds": _rounded(tally.average_wait),
    }


def agent_counts(request: web.Request) -> dict[str, int] | None:
    """Queue members per state, or None when the presence map cannot be trusted."""
    # the presence API's rule: a logged-in AMI and a map rebuilt since that login
    telephony = request.config_dict.get(telephony_key)
    if telephony is None or not telephony.ami.logged_in.is_set() or not telephony.presence.synced:
        return None
    counts = telephony.presence.states()
    return {state.value: counts[state] for state in SHOWN_STATES}


def _percent(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio * 100, 1)


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _tile(key: str, label: str, note: str = "") -> str:
    # the script fills <strong data-figure=key>; the note line under it is its own
    small = f'<small data-note="{key}">{note}</small>' if note else ""
    return (
        f'<div class="tile" data-tile="{key}"><span>{label}</span>'
        f'<strong data-figure="{key}">—</strong>{small}</div>'
    )


def _body() -> str:
    # every label is a constant of this module: nothing here needs escaping
    within = f"{ANSWER_THRESHOLD_SECONDS:g}秒接通率"
    queue = _tile("waiting", "当前排队", "位来电") + _tile("longest_wait", "最长等待", "分:秒")
    agents = "".join(
        _tile(key, label)
        for key, label in (
            ("ready", "就绪坐席"),
            ("paused", "暂停坐席"),
            ("ringing", "振铃坐席"),
            ("on_call", "通话坐席"),
        )
    )
    today = (
        _tile("offered", "今日呼入", "进入人工队列")
        + _tile("answered", "今日接通", "接通率 —")
        + _tile("service_level", within, "—")
        + _tile("average_wait", "平均等待", "已接通来电，分:秒")
        + _tile("abandoned", "今日放弃", "排队中挂机")
        + _tile("answer_rate_24h", "24小时接通率", "—")
    )
    return f"""<div id="wallboard">
<p id="wb-error" class="error" role="alert" hidden></p>
<section class="row now"><h2>排队</h2><div class="tiles">{queue}</div></section>
<section class="row"><h2>坐席</h2><div class="tiles">
<p id="wb-telephony" class="offline" hidden>电话系统未连接</p>{agents}</div></section>
<section class="row"><h2>今日 <span id="wb-day"></span></h2>
<div class="tiles">{today}</div></section>
<section class="row"><h2>热点预警</h2><div class="tiles">{_tile("alerts_open", "待处理预警", "条")}
<div class="tile wb-alert-list"><span>最新预警</span><ul id="wb-alerts"></ul></div></div></section>
<p id="wb-footer"><span id="wb-updated">正在读取…</span> <span id="wb-stale"></span></p>
</div>
"""
