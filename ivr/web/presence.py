"""The agent's place in the queue over HTTP: ready, pause with a reason, leave, and the state.

POST /api/agent/ready         QueueAdd (MemberName = username), or unpause if already a member
POST /api/agent/pause         {"reason": "break"|...}: QueuePause Paused=true Reason=...
POST /api/agent/logout-queue  QueueRemove
GET  /api/agent/state         the state Asterisk reports (AgentPresence), never a guess

A change answers once Asterisk's own member event shows it (or the action failed), so the
state in every answer is Asterisk's. Errors: 400 unknown reason, 409 no interface or not in
the queue, 503 telephony unavailable (AMI down, or the state not yet rebuilt after a
login), 502 Asterisk refused the action.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from aiohttp import web

from ivr.db.models import Role
from ivr.db.users import UserView
from ivr.errors import AmiError
from ivr.handlers.agent_presence import (
    PAUSE_REASONS,
    AgentPresence,
    AgentState,
    AmiLink,
    Presence,
)
from ivr.web.guard import logged_in, require_role

log = structlog.get_logger(__name__)

ACTION_TIMEOUT = 10.0
UNAVAILABLE = "telephony unavailable"
NO_INTERFACE = "no queue interface (e.g. PJSIP/8001) is set for this agent: ask the office"
Check = Callable[[Presence], bool]
# (telephony, interface, username): one change of queue membership
Change = Callable[["Telephony", str, str], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Telephony:
    """What the agent API needs of the telephony side: the AMI link and the presence map."""

    ami: AmiLink
    presence: AgentPresence


telephony_key: web.AppKey[Telephony] = web.AppKey("telephony")


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the agent presence API."""
    router.add_get("/api/agent/state", agent_state)
    router.add_post("/api/agent/ready", agent_ready)
    router.add_post("/api/agent/pause", agent_pause)
    router.add_post("/api/agent/logout-queue", agent_leave_queue)


@require_role(Role.AGENT)
async def agent_state(request: web.Request) -> web.StreamResponse:
    """The agent's state as Asterisk last reported it."""
    interface = _interface(logged_in(request).user)
    return state_json(_telephony(request).presence.current(interface))


@require_role(Role.AGENT)
async def agent_ready(request: web.Request) -> web.StreamResponse:
    """Join the queue, or come back from a pause."""
    return await _change(request, "agent_ready", _go_ready)


@require_role(Role.AGENT)
async def agent_pause(request: web.Request) -> web.StreamResponse:
    """Stay in the queue without being rung, for a stated reason."""
    reason = await _pause_reason(request)
    go_paused = functools.partial(_go_paused, reason=reason)
    return await _change(request, "agent_paused", go_paused, reason=reason)


@require_role(Role.AGENT)
async def agent_leave_queue(request: web.Request) -> web.StreamResponse:
    """Leave the queue."""
    return await _change(request, "agent_left_queue", _go_out)


def state_json(view: Presence) -> web.Response:
    """The JSON the console polls."""
    return web.json_response(
        {
            "state": view.state.value,
            "reason": view.reason,
            "since": view.since.isoformat(),
            "asterisk_status": view.asterisk_status,
            "paused": view.paused,
        }
    )


async def _change(request: web.Request, name: str, change: Change, **fields: str) -> web.Response:
    user = logged_in(request).user
    interface = _interface(user)
    telephony = _telephony(request)
    try:
        await change(telephony, interface, user.username)
    except AmiError as exc:
        log.warning(
            "agent_queue_action_failed",
            action=name,
            username=user.username,
            interface=interface,
            error=str(exc),
        )
        if not telephony.ami.logged_in.is_set():
            raise web.HTTPServiceUnavailable(text=UNAVAILABLE) from exc
        raise web.HTTPBadGateway(text=f"Asterisk refused: {exc}") from exc
    view = telephony.presence.current(interface)
    log.info(name, username=user.username, interface=interface, state=view.state.value, **fields)
    return state_json(view)


async def _go_ready(telephony: Telephony, interface: str, username: str) -> None:
    queue = telephony.presence.queue
    if telephony.presence.current(interface).state is AgentState.LOGGED_OUT:
        # StateInterface is the interface itself: a Local/ member's device state follows its
        # channels (a `hint:` would report the phone behind it, once the dialplan has hints)
        add = {"Action": "QueueAdd", "Queue": queue, "Interface": interface, "Paused": "false"}
        add |= {"MemberName": username, "StateInterface": interface}
        try:
            await _confirmed(telephony, add, interface, _ready)
            return
        except AmiError as exc:
            if not _asterisk_says(exc, "Already there"):  # a join the map has not seen yet
                raise
    unpause = {"Action": "QueuePause", "Queue": queue, "Interface": interface, "Paused": "false"}
    await _confirmed(telephony, unpause, interface, _ready)


async def _go_paused(telephony: Telephony, interface: str, username: str, *, reason: str) -> None:
    if telephony.presence.current(interface).state is AgentState.LOGGED_OUT:
        raise web.HTTPConflict(text="not in the queue: press Ready first")
    pause = {"Action": "QueuePause", "Queue": telephony.presence.queue, "Interface": interface}
    pause |= {"Paused": "true", "Reason": reason}

    def paused(view: Presence) -> bool:
        return view.paused and view.reason == reason

    await _confirmed(telephony, pause, interface, paused)


async def _go_out(telephony: Telephony, interface: str, username: str) -> None:
    if telephony.presence.current(interface).state is AgentState.LOGGED_OUT:
        return  # already out: the wanted state holds, nothing to ask Asterisk
    remove = {"Action": "QueueRemove", "Queue": telephony.presence.queue, "Interface": interface}
    try:
        await _confirmed(telephony, remove, interface, _out)
    except AmiError as exc:
        if not _asterisk_says(exc, "Not there"):  # gone already: what was asked for
            raise


async def _confirmed(
    telephony: Telephony, fields: Mapping[str, str], interface: str, check: Check
) -> None:
    """Send an action; return once Asterisk's events show its effect, or raise its AmiError."""
    # each of these actions has one reply (as_list=False: panoramisk would take QueueAdd's
    # for the start of a list); the member event is the confirmation that counts
    sent = asyncio.ensure_future(telephony.ami.action(fields, ACTION_TIMEOUT, as_list=False))
    seen = asyncio.ensure_future(telephony.presence.wait_until(interface, check, ACTION_TIMEOUT))
    try:
        await asyncio.wait((sent, seen), return_when=asyncio.FIRST_COMPLETED)
        if sent.done():
            sent.result()  # a refused action raises here
        if not await seen:
            log.warning("agent_state_unconfirmed", action=fields["Action"], interface=interface)
    finally:
        for task in (sent, seen):
            task.cancel()
        await asyncio.gather(sent, seen, return_exceptions=True)


def _ready(view: Presence) -> bool:
    return view.state is not AgentState.LOGGED_OUT and not view.paused


def _out(view: Presence) -> bool:
    return view.state is AgentState.LOGGED_OUT


def _asterisk_says(exc: AmiError, message: str) -> bool:
    # app_queue's own wording for "already a member" / "not a member"
    return message.lower() in str(exc).lower()


async def _pause_reason(request: web.Request) -> str:
    try:
        body: Any = await request.json()
    except (ValueError, RecursionError):
        raise web.HTTPBadRequest(text='send JSON like {"reason": "break"}') from None
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or reason not in PAUSE_REASONS:
        allowed = ", ".join(PAUSE_REASONS)
        raise web.HTTPBadRequest(text=f"unknown pause reason {reason!r}: use one of {allowed}")
    return reason


def _interface(user: UserView) -> str:
    if not user.interface:
        raise web.HTTPConflict(text=NO_INTERFACE)
    return user.interface


def _telephony(request: web.Request) -> Telephony:
    # nothing pretended: without a logged-in AMI and a rebuilt map there is no state to give
    telephony = request.config_dict.get(telephony_key)
    if telephony is None or not telephony.ami.logged_in.is_set() or not telephony.presence.synced:
        raise web.HTTPServiceUnavailable(text=UNAVAILABLE)
    return telephony
