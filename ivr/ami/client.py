"""AMI client: login with the secret from settings, reconnect, notice half-open links.

panoramisk's Manager reconnects when the socket closes but sends its pings without ever
checking a reply, so a peer that stops answering without closing goes unnoticed. Here a
watchdog sends Ping and waits for the reply; a missing reply aborts the transport, which
makes the Manager reconnect. Events are queued and handled one at a time, in the order
Asterisk sent them: queue events for one call arrive within milliseconds of each other and
must not race each other into the database. Handlers may ask for a lane of their own
(screen-pops): each lane keeps the order, and a lane never waits for another's handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from panoramisk import Manager

from ivr.errors import AmiError
from ivr.settings import Settings, resolve_ami_secret

log = structlog.get_logger(__name__)

Event = Mapping[str, str]
EventHandler = Callable[[Event], Awaitable[None]]
# Added to every event: when it reached this process (epoch seconds), before any queueing,
# so latency measured from it includes the wait behind earlier events' handlers.
RECEIVED_AT = "X-Ivr-Received-At"
MAIN_LANE = "main"
# panoramisk's own pinger never checks replies; ours does, so push its first ping out of reach
_NEVER = 10 * 365 * 24 * 3600
# panoramisk re-sends unanswered actions after a reconnect: a callback Originate must never
# ring a citizen twice, so only idempotent queries may be replayed
_NEVER_REPLAY = ("ping", "login", "originate", "queueadd", "queuepause", "queueremove")


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager that stays closed once closed (no scheduled reconnect)."""

    closed = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        return None if self.closed else super().connect(*args, **kwargs)

    def login(self, future: Any) -> bool:
        ok = bool(super().login(future))
        if not ok:  # panoramisk ignores a refused login: say so; the watchdog retries
            reply = future.result()
            log.error("ami_login_failed", message=reply.get("Message"))
        return ok


_LOGGED_IN = "ivr:LoggedIn"  # a pseudo-event of ours; Asterisk event names have no colon


def received_at(event: Event) -> float:
    """When the event reached this process (epoch seconds; now for a made-up event)."""
    try:
        return float(event[RECEIVED_AT])
    except (KeyError, ValueError):
        return time.time()


def _ignore_event(hook: Callable[[], Awaitable[None]]) -> EventHandler:
    async def run(_event: Event) -> None:
        await hook()

    return run


class AmiClient:
    """One logged-in AMI connection that survives Asterisk restarts."""

    def __init__(
        self, *, host: str, port: int, username: str, secret: str, ping_interval: float
    ) -> None:
        self.ping_interval = ping_interval
        self.logged_in = asyncio.Event()
        self._lanes: dict[str, _Lane] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._manager = _Manager(
            host=host,
            port=port,
            username=username,
            secret=secret,
            ping_delay=_NEVER,
            forgetable_actions=_NEVER_REPLAY,
            reconnect_timeout=1,
            events="on",
            loop=asyncio.get_running_loop(),
            log=logging.getLogger("ivr.ami.panoramisk"),
            on_login=self._on_login,
            on_disconnect=self._on_disconnect,
        )
        self._manager.register_event("*", self._enqueue)

    @classmethod
    def from_settings(cls, settings: Settings) -> AmiClient:
        """A client for the Asterisk these settings describe."""
        return cls(
            host=settings.ami_host,
            port=settings.ami_port,
            username=settings.ami_username,
            secret=resolve_ami_secret(settings),
            ping_interval=settings.ami_ping_interval,
        )

    def on(self, event_name: str, handler: EventHandler, *, lane: str = MAIN_LANE) -> None:
        """Call HANDLER for every event of that name, in arrival order within its lane."""
        if lane not in self._lanes:
            self._lanes[lane] = _Lane(lane)
            if self._tasks:  # already started: the new lane needs its consumer now
                self._tasks.append(self._lanes[lane].start())
        self._lanes[lane].handlers.setdefault(event_name, []).append(handler)

    def on_login(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run HOOK after every (re)login: catch up on what happened while disconnected."""
        self.on(_LOGGED_IN, _ignore_event(hook))

    async def start(self) -> None:
        """Connect in the background; Asterisk may come up later."""
        self._manager.connect()
        loop = asyncio.get_running_loop()
        self._lanes.setdefault(MAIN_LANE, _Lane(MAIN_LANE))
        self._tasks = [
            *(lane.start() for lane in self._lanes.values()),
            loop.create_task(self._watchdog(), name="ami-watchdog"),
        ]

    async def wait_logged_in(self, timeout: float) -> None:
        """Wait until logged in, or raise AmiError."""
        try:
            await asyncio.wait_for(self.logged_in.wait(), timeout)
        except TimeoutError as exc:
            raise AmiError(f"AMI not logged in after {timeout:.0f} s") from exc

    async def action(
        self,
        fields: Mapping[str, str | list[str]],
        timeout: float = 10.0,
        *,
        as_list: bool | None = None,
    ) -> Any:
        """Send an action and return its response; errors become AmiError.

        as_list=False for single-reply actions panoramisk mistakes for lists (QueueAdd's
        "Added interface to queue" would otherwise leave the reply pending forever).
        """
        if not self.logged_in.is_set():
            raise AmiError(f"AMI not connected; cannot send {fields.get('Action')}")
        try:
            reply = await asyncio.wait_for(
                self._manager.send_action(dict(fields), as_list=as_list), timeout
            )
        except TimeoutError as exc:
            raise AmiError(f"AMI {fields.get('Action')} got no reply in {timeout} s") from exc
        # an async Originate answers "queued" first and its real outcome last
        for message in reply if isinstance(reply, list) else [reply]:
            if message.get("Response") in ("Error", "Failure"):
                why = message.get("Message") or f"reason {message.get('Reason')}"
                raise AmiError(f"AMI {fields.get('Action')} failed: {why}")
        return reply

    async def close(self) -> None:
        """Stop the watchdog and event delivery and close the connection for good."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._manager.closed = True
        self._manager.close()
        self.logged_in.clear()

    def _enqueue(self, _manager: Manager, event: Any) -> None:
        event[RECEIVED_AT] = repr(time.time())
        self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        for lane in self._lanes.values():
            if event.get("Event", "") in lane.handlers:
                lane.events.put_nowait(event)

    async def _watchdog(self) -> None:
        not_logged_in = 0
        while True:
            await asyncio.sleep(self.ping_interval)
            if not self.logged_in.is_set():
                not_logged_in += 1
                if not_logged_in % 3 == 0:  # connected but never logged in: start over
                    self._abort_transport()
                continue
            not_logged_in = 0
            try:
                await asyncio.wait_for(
                    self._manager.send_action({"Action": "Ping"}), self.ping_interval
                )
            except TimeoutError:
                log.warning("ami_half_open", silent_seconds=self.ping_interval)
                self._abort_transport()

    def _abort_transport(self) -> None:
        self.logged_in.clear()
        protocol = self._manager.protocol
        if protocol is not None and protocol.transport is not None:
            protocol.transport.abort()  # connection_lost follows: the Manager reconnects

    def _on_login(self, _manager: Manager) -> None:
        log.info("ami_logged_in")
        self.logged_in.set()
        # through the event queue, so the catch-up runs in order with the events around it
        self._dispatch({"Event": _LOGGED_IN})

    def _on_disconnect(self, _manager: Manager, exc: object) -> None:
        log.warning("ami_disconnected", error=str(exc) if exc else None)
        self.logged_in.clear()


class _Lane:
    """Handlers that see events in order, on a consumer task of their own."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: dict[str, list[EventHandler]] = {}
        self.events: asyncio.Queue[Event] = asyncio.Queue()

    def start(self) -> asyncio.Task[None]:
        """The lane's consumer task."""
        return asyncio.get_running_loop().create_task(self._deliver(), name=f"ami-{self.name}")

    async def _deliver(self) -> None:
        while True:
            event = await self.events.get()
            for handler in self.handlers.get(event.get("Event", ""), ()):
                try:
                    await handler(event)
                except Exception:
                    log.exception(
                        "ami_event_handler_failed", ami_event=event.get("Event"), lane=self.name
                    )
