"""The FastAGI server: accept a session, bind its log context, run its route, never crash.

Error contract: a caller hang-up ends the route quietly; any other error is logged with the
call's context and the session is closed, after which the dialplan sends the call to the
agent queue. A citizen never hears dead air because of a bug here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

import structlog

from ivr.agi.channel import AgiChannel
from ivr.agi.protocol import MAX_LINE_BYTES, MalformedAgiRequest, read_headers
from ivr.errors import CallerHungUp

log = structlog.get_logger(__name__)

Route = Callable[[AgiChannel], Awaitable[None]]


class FastAgiServer:
    """Serve the routes in one explicit table; unknown routes are closed at once."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        for name, route in routes.items():
            if not asyncio.iscoroutinefunction(route):
                raise TypeError(f"AGI route {name!r} must be an async def")
        self._routes = dict(routes)
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> None:
        """Listen for Asterisk's FastAGI connections."""
        self._server = await asyncio.start_server(
            self._accept, host, port, limit=MAX_LINE_BYTES, reuse_address=True
        )
        log.info("agi_listening", host=host, port=port)

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop listening; give calls in progress a grace period to save their work."""
        if self._server is None:
            return
        self._server.close()
        if self._sessions:
            _, late = await asyncio.wait(self._sessions, timeout=grace_seconds)
            for task in late:
                log.warning("agi_session_cancelled_at_stop", task=task.get_name())
                task.cancel()
        # bounded: wait_closed() waits for every connection, and a peer may never close
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._sessions.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        structlog.contextvars.clear_contextvars()
        try:
            headers = await read_headers(reader)
        except (MalformedAgiRequest, CallerHungUp, TimeoutError) as exc:
            log.warning("agi_bad_request", error=str(exc) or type(exc).__name__)
            return
        structlog.contextvars.bind_contextvars(
            uniqueid=headers.uniqueid,
            channel=headers.channel,
            caller=headers.caller,
            route=headers.route,
        )
        route = self._routes.get(headers.route)
        if route is None:
            log.warning("agi_unknown_route")
            return
        await _run_route(route, AgiChannel(headers, reader, writer))


async def _run_route(route: Route, channel: AgiChannel) -> None:
    try:
        await route(channel)
    except CallerHungUp:
        log.info("caller_hung_up")
    except Exception:
        # the dialplan continues to the agent queue once we close the session
        log.exception("agi_route_failed")
