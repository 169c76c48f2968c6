"""Notices to agents' pages: a pop opened, changed or closed, a case updated.

The bus hands a notice to the WebSocket handlers of this process at once. With PostgreSQL
the notice also goes out as `NOTIFY ivr_screen_pop` and every other ivr process hands it
to its own sockets, so an agent connected to any process sees pops made by any other (the
pop itself is in the database; a notice only says "look again"). With SQLite there is one
process and no relay. A notice lost while the relay reconnects costs nothing permanent:
after reconnecting every socket is told to resend its open pops.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import functools
import json
import uuid
from typing import Any

import asyncpg
import structlog
from aiohttp import web
from sqlalchemy import make_url

from ivr.db.screen_pops import PopView

log = structlog.get_logger(__name__)

CHANNEL = "ivr_screen_pop"
RECONNECT_SECONDS = 2.0
SEND_TIMEOUT = 2.0
PROBE_SECONDS = 10.0
EVERYONE = "*"  # the username of a notice meant for every connected page


class NoticeKind(enum.StrEnum):
    """What a page should do about a notice."""

    POP = "pop"  # show (or refresh) pop `pop_id`
    CLOSE = "close"  # take pop `pop_id` off the screen
    CASE = "case"  # case `case_id` changed: refresh the pops that show it
    RESYNC = "resync"  # notices may have been lost: resend every open pop


@dataclasses.dataclass(frozen=True)
class Notice:
    """One thing an agent's page should hear about."""

    username: str
    kind: NoticeKind
    pop_id: int | None = None
    case_id: int | None = None
    # when the AMI event behind it reached an ivr process (epoch seconds), for latency
    received_at: float | None = None
    # the pop as just written, so this process's sockets need not read it back (not relayed)
    view: PopView | None = dataclasses.field(default=None, compare=False, repr=False)

    def to_json(self, origin: str) -> str:
        """The NOTIFY payload (well under PostgreSQL's 8000-byte limit)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["view"] = None
        return json.dumps(fields | {"origin": origin})

    @classmethod
    def from_json(cls, payload: str) -> tuple[Notice, str]:
        """A notice and the process it came from."""
        data: dict[str, Any] = json.loads(payload)
        origin = str(data.pop("origin"))
        data["kind"] = NoticeKind(data["kind"])
        return cls(**data), origin


class PopBus:
    """Fan-out of notices to the sockets of this process, and to other processes' buses."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex
        self._subscribers: dict[str, set[asyncio.Queue[Notice]]] = {}
        self._relay: PostgresRelay | None = None

    def subscribe(self, username: str) -> asyncio.Queue[Notice]:
        """A queue that receives this user's notices until `unsubscribe`."""
        queue: asyncio.Queue[Notice] = asyncio.Queue()
        self._subscribers.setdefault(username, set()).add(queue)
        return queue

    def unsubscribe(self, username: str, queue: asyncio.Queue[Notice]) -> None:
        """Stop delivering to `queue`."""
        queues = self._subscribers.get(username, set())
        queues.discard(queue)
        if not queues:
            self._subscribers.pop(username, None)

    def deliver(self, notice: Notice) -> None:
        """Hand a notice to this process's sockets (all of them for EVERYONE)."""
        if notice.username == EVERYONE:
            targets = [q for queues in self._subscribers.values() for q in queues]
        else:
            targets = list(self._subscribers.get(notice.username, ()))
        for queue in targets:
            queue.put_nowait(notice)

    async def publish(self, notice: Notice) -> None:
        """Deliver here at once, and to the other processes when there is a relay."""
        self.deliver(notice)
        if self._relay is not None:
            await self._relay.send(notice)

    async def start_relay(self, database_url: str) -> None:
        """With PostgreSQL, relay notices between processes; nothing to do with SQLite."""
        url = make_url(database_url)
        if url.get_backend_name() != "postgresql":
            return
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._relay = PostgresRelay(dsn, self)
        await self._relay.start()

    async def close(self) -> None:
        """Stop the relay."""
        if self._relay is not None:
            await self._relay.close()


class PostgresRelay:
    """LISTEN on one connection, NOTIFY on another; reconnects when the server goes away."""

    def __init__(self, dsn: str, bus: PopBus) -> None:
        self.dsn = dsn
        self.bus = bus
        self._sender: asyncpg.Pool | None = None
        self._keeper: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        """Open the sending pool and start listening (waits for the first LISTEN)."""
        self._sender = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)
        self._keeper = asyncio.create_task(self._keep_listening())
        await asyncio.wait_for(self.listening.wait(), 30)

    async def send(self, notice: Notice) -> None:
        """NOTIFY the other processes; a failure is logged, never raised into a call's path
        (and never waited on for long: the AMI lane and the registration call this)."""
        assert self._sender is not None
        try:
            payload = notice.to_json(self.bus.origin)
            await asyncio.wait_for(
                self._sender.execute("SELECT pg_notify($1, $2)", CHANNEL, payload), SEND_TIMEOUT
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("pop_notify_failed", error=repr(exc), username=notice.username)

    async def _keep_listening(self) -> None:
        while True:
            try:
                await self._listen_once()  # returns when the connection was lost: again now
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever broke, the relay must come back
                log.warning("pop_listen_failed", error=repr(exc))
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(self.dsn, timeout=10)
        lost = asyncio.Event()
        connection.add_termination_listener(functools.partial(_set_event, lost))
        try:
            await connection.add_listener(CHANNEL, self._on_notify)
            if self.listening.is_set():  # notices may have passed while we were away
                self.bus.deliver(Notice(EVERYONE, NoticeKind.RESYNC))
            self.listening.set()
            # a half-open connection never says it is gone: ask it now and then
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PROBE_SECONDS)
                if not lost.is_set():
                    await connection.fetchval("SELECT 1", timeout=PROBE_SECONDS)
            log.warning("pop_listen_connection_lost")
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            notice, origin = Notice.from_json(str(payload))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("pop_notice_unreadable", error=str(exc))
            return
        if origin != self.bus.origin:  # our own were delivered when published
            self.bus.deliver(notice)

    async def close(self) -> None:
        """Stop listening and close the connections."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._keeper
        if self._sender is not None:
            await self._sender.close()


def _set_event(event: asyncio.Event, _connection: object) -> None:
    event.set()


pop_bus_key: web.AppKey[PopBus] = web.AppKey("pop_bus")
