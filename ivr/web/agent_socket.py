"""GET /ws/agent: the agent's (or duty leader's) live feed of screen-pops over a WebSocket.

On connect the page gets every pop still open for it (so a reconnect, or a pop made while
the page was away, loses nothing), then each notice as it comes. The page answers each pop
it has shown with `{"type": "ack", "pop_id": n, "rendered_at": <epoch ms>}`. The session is
checked at the handshake (cookie, role, same Origin) and again every minute: a logout or an
expired session closes the socket with code 4001.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import json
import time
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from ivr.db import screen_pops, web_sessions
from ivr.db.calls import Sessions
from ivr.db.models import Role
from ivr.db.users import UserView
from ivr.errors import RecordNotFound
from ivr.web import kb_api
from ivr.web.case_json import pop_json
from ivr.web.guard import SESSION_COOKIE, logged_in, require_role
from ivr.web.origin import is_own_site
from ivr.web.pop_bus import Notice, NoticeKind, pop_bus_key
from ivr.web.state import clock_key, db_key, policy_key

log = structlog.get_logger(__name__)

WS_PATH = "/ws/agent"
HEARTBEAT_SECONDS = 15.0  # a dead page is noticed within two of these
SESSION_CHECK_SECONDS = 60.0
MAX_MESSAGE_BYTES = 4096  # the page only ever sends acks
SESSION_ENDED = 4001
FEED_FAILED = 1011  # "internal error": the page reconnects


@dataclasses.dataclass(frozen=True)
class PopTiming:
    """One pop's way to a page (epoch seconds): the AMI event, the send, the rendering."""

    pop_id: int
    received_at: float
    sent_at: float
    rendered_at: float | None = None


class PopTimings:
    """The latest pops' timings in this process (the latency bench reads them)."""

    def __init__(self, keep: int = 10_000) -> None:
        self.sent: dict[int, PopTiming] = {}
        self.done: collections.deque[PopTiming] = collections.deque(maxlen=keep)
        self.keep = keep

    def on_sent(self, pop_id: int, received_at: float, sent_at: float) -> None:
        """The first send of a pop after its AMI event."""
        if len(self.sent) < self.keep:
            self.sent.setdefault(pop_id, PopTiming(pop_id, received_at, sent_at))

    def on_rendered(self, pop_id: int, rendered_at: float) -> None:
        """The page said it showed the pop."""
        sent = self.sent.pop(pop_id, None)
        if sent is not None:
            self.done.append(dataclasses.replace(sent, rendered_at=rendered_at))


timings_key: web.AppKey[PopTimings] = web.AppKey("pop_timings")
sockets_key: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("agent_sockets")


def add_routes(app: web.Application) -> None:
    """Register /ws/agent and close its sockets when the app shuts down."""
    app[timings_key] = PopTimings()
    app[sockets_key] = set()
    app.router.add_get(WS_PATH, agent_socket)
    app.on_shutdown.append(_close_sockets)


FEED_ROLES = (Role.AGENT, Role.LEADER)


@require_role(*FEED_ROLES)
async def agent_socket(request: web.Request) -> web.StreamResponse:
    """The pop feed of the logged-in agent."""
    _check_origin(request)
    user = logged_in(request).user
    bus = request.config_dict[pop_bus_key]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    request.config_dict[sockets_key].add(ws)
    notices = bus.subscribe(user.username)  # before the snapshot: nothing falls in between
    feed = PopFeed(request, ws, user)
    sender = asyncio.create_task(feed.run(notices))
    try:
        await feed.read_acks()
    finally:
        request.config_dict[sockets_key].discard(ws)
        bus.unsubscribe(user.username, notices)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    return ws


def _check_origin(request: web.Request) -> None:
    # Cookies go with cross-site WebSocket handshakes (SameSite does not cover every case):
    # only a page served by this console may open the feed. Behind a TLS proxy the public
    # origin differs from what this process sees: settings.web_public_origin names it.
    origin = request.headers.get("Origin")
    if origin is None:
        raise web.HTTPForbidden(text="WebSocket without an Origin header")
    if not is_own_site(request, origin):
        raise web.HTTPForbidden(text=f"WebSocket from another site ({origin[:100]}) refused")


class PopFeed:
    """One page's feed: open pops first, then notices; acks recorded as they come."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, user: UserView) -> None:
        self.request = request
        self.ws = ws
        self.user = user
        self.db: Sessions = request.config_dict[db_key]
        self.timings = request.config_dict[timings_key]
        # each pop carries the articles its transcript suggests, refreshed with the pop
        self.suggest = functools.partial(kb_api.suggest, request)

    async def run(self, notices: asyncio.Queue[Notice]) -> None:
        """Send the open pops, then follow the notices until the socket closes.

        A failure here (the database away for a moment) closes the socket with 1011, so the
        page reconnects and gets every open pop again, instead of a feed that looks alive
        and says nothing.
        """
        try:
            await self.send_open_pops()
            await self._follow(notices)
        except Exception:
            log.exception("pop_feed_failed", username=self.user.username)
            await self.ws.close(code=FEED_FAILED, message=b"feed failed: reconnect")

    async def _follow(self, notices: asyncio.Queue[Notice]) -> None:
        loop = asyncio.get_running_loop()
        check_at = loop.time() + SESSION_CHECK_SECONDS
        while not self.ws.closed:
            # the session is checked on a fixed beat, however busy the feed is
            wait = max(0.0, check_at - loop.time())
            try:
                notice = await asyncio.wait_for(notices.get(), wait)
            except TimeoutError:
                notice = None
            if loop.time() >= check_at:
                check_at = loop.time() + SESSION_CHECK_SECONDS
                if not await self._session_alive():
                    await self.ws.close(code=SESSION_ENDED, message=b"session ended")
                    return
            if notice is not None:
                await self.handle(notice)

    async def handle(self, notice: Notice) -> None:
        """Act on one notice."""
        if notice.kind is NoticeKind.RESYNC:
            await self.send_open_pops()
        elif notice.kind is NoticeKind.CLOSE and notice.pop_id is not None:
            await self._send({"type": "close", "pop_id": notice.pop_id})
        elif notice.kind is NoticeKind.CASE and notice.case_id is not None:
            for pop in await screen_pops.open_pops_of(self.db, self.user.username):
                if pop.case_id == notice.case_id:
                    await self.send_pop(pop)
        elif notice.pop_id is not None:
            found = notice.view or await screen_pops.get_pop(self.db, notice.pop_id)
            if found is not None and found.username == self.user.username:
                await self.send_pop(found, received_at=notice.received_at)

    async def send_open_pops(self) -> None:
        """Every pop still open for this user, oldest first, after the list of their ids (so
        the page drops what closed while it was not listening)."""
        pops = await screen_pops.open_pops_of(self.db, self.user.username)
        await self._send({"type": "snapshot", "pop_ids": [pop.id for pop in pops]})
        for pop in pops:
            await self.send_pop(pop)

    async def send_pop(self, pop: screen_pops.PopView, received_at: float | None = None) -> None:
        """One pop (a closed one goes as `close`)."""
        if not pop.is_open:
            await self._send({"type": "close", "pop_id": pop.id})
            return
        try:
            message = await pop_json(self.db, pop, self.user, self.suggest)
        except RecordNotFound:  # the case was deleted under it
            return
        await self._send(message)
        if received_at is not None:
            self.timings.on_sent(pop.id, received_at, time.time())

    async def read_acks(self) -> None:
        """Read the page's messages until it goes away."""
        async for message in self.ws:
            if message.type is not WSMsgType.TEXT:
                continue
            ack = _ack(message.data)
            if ack is None:
                await self._send({"type": "error", "error": "send {type: ack, pop_id: n}"})
                continue
            pop_id, rendered_ms = ack
            now = self.request.config_dict[clock_key]()
            mine = await screen_pops.acknowledge(self.db, pop_id, self.user.username, at=now)
            if mine and rendered_ms is not None:
                self.timings.on_rendered(pop_id, rendered_ms / 1000)

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionResetError):
                await self.ws.send_json(message)

    async def _session_alive(self) -> bool:
        token = self.request.cookies.get(SESSION_COOKIE, "")
        app = self.request.config_dict
        now, idle = app[clock_key](), app[policy_key].idle
        found = await web_sessions.resolve_session(self.db, token, now=now, idle=idle)
        # a user moved to another role since the handshake no longer gets pops
        return found is not None and found.user.role in FEED_ROLES


def _ack(data: str) -> tuple[int, float | None] | None:
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("type") != "ack":
        return None
    pop_id, rendered = body.get("pop_id"), body.get("rendered_at")
    if not isinstance(pop_id, int) or isinstance(pop_id, bool) or not 0 < pop_id < 2**31:
        return None
    if isinstance(rendered, int | float) and not isinstance(rendered, bool):
        return pop_id, float(rendered)
    return pop_id, None


async def _close_sockets(app: web.Application) -> None:
    sockets = app[sockets_key]
    for ws in list(sockets):  # closing one removes it from the set
        await ws.close(code=1001, message=b"server shutting down")
