"""Agent presence as Asterisk reports it: who is in the queue, paused, ringing or on a call.

The console never trusts what a button last said. app_queue's member events
(`QueueMemberAdded`, `...Removed`, `...Pause`, `...Status`) and its call events for a member
(`AgentCalled`, `AgentConnect`, `AgentRingNoAnswer`, `AgentComplete`) update an in-memory map
keyed by queue interface; after every AMI login the map is rebuilt from `QueueStatus`, so a
restart of the ivr process or of Asterisk shows the truth again. Until that rebuild the map
is not trusted (`synced` is false) and the console says so rather than show a stale state.

The map is per process and holds nothing Asterisk does not: several ivr processes each keep
their own copy of the same truth, fed by the same events, so no database table is needed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from ivr.ami.client import AmiClient, Event
from ivr.errors import AmiError

log = structlog.get_logger(__name__)

# the reasons an agent may give, as sent to Asterisk, with what the console shows
PAUSE_REASONS = {"break": "休息", "after_call_work": "话后处理", "training": "培训", "meal": "用餐"}
# app_queue member Status values (AST_DEVICE_*): 1 not in use, 2 in use, 3 busy,
# 4 invalid, 5 unavailable, 6 ringing, 7 ringing while in use, 8 on hold
RINGING_STATUSES = frozenset({6, 7})
BUSY_STATUSES = frozenset({2, 3, 8})
RESYNC_ATTEMPTS = 3
RESYNC_TIMEOUT = 15.0


class AmiLink(Protocol):
    """What presence needs of the AMI client (AmiClient, or a stand-in in fast tests)."""

    logged_in: asyncio.Event

    async def action(
        self,
        fields: Mapping[str, str | list[str]],
        timeout: float = ...,
        *,
        as_list: bool | None = None,
    ) -> Any:
        """Send an action and return its response."""


class AgentState(enum.StrEnum):
    """What the console shows an agent."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    PAUSED = "paused"
    RINGING = "ringing"
    ON_CALL = "on_call"


@dataclasses.dataclass(frozen=True)
class Member:
    """One queue member as Asterisk last described it."""

    interface: str
    name: str
    status: int | None
    paused: bool
    reason: str
    calling: bool = False  # between AgentCalled and its answer or give-up
    calling_for: str | None = None  # the caller's uniqueid while calling
    talking: bool = False  # between AgentConnect and AgentComplete


@dataclasses.dataclass(frozen=True)
class Presence:
    """An interface's state for the console, and since when (Asterisk's time if it says)."""

    state: AgentState
    paused: bool
    reason: str | None
    asterisk_status: int | None
    since: datetime


def derive_state(member: Member | None) -> AgentState:
    """The console state of a member (None: not in the queue); a call outranks a pause."""
    if member is None:
        return AgentState.LOGGED_OUT
    # a Local/ member reports "in use" from the moment it is rung: AgentCalled tells apart
    if member.calling or member.status in RINGING_STATUSES:
        return AgentState.RINGING
    # the device state can lag AgentConnect: the call event says the agent is talking
    if member.talking or member.status in BUSY_STATUSES:
        return AgentState.ON_CALL
    return AgentState.PAUSED if member.paused else AgentState.READY


def member_of(event: Event, previous: Member | None = None) -> Member:
    """A member from a QueueMember* event (QueueStatus lists name it Name and Location)."""
    paused = event.get("Paused") == "1"
    status = event.get("Status", "")
    return Member(
        interface=event.get("Interface") or event.get("Location", ""),
        name=event.get("MemberName") or event.get("Name", ""),
        status=int(status) if status.isdigit() else None,
        paused=paused,
        reason=event.get("PausedReason", "") if paused else "",
        # the call attempt in progress is ours to track, not the event's
        calling=previous.calling if previous is not None else False,
        calling_for=previous.calling_for if previous is not None else None,
        talking=previous.talking if previous is not None else False,
    )


class AgentPresence:
    """The per-interface state map of one queue, fed by AMI events and rebuilt on login."""

    def __init__(self, queue: str, clock: Callable[[], datetime]) -> None:
        self.queue = queue
        self.clock = clock
        self.synced = False  # the map reflects a QueueStatus taken on the current login
        self._members: dict[str, Member] = {}
        self._since: dict[str, datetime] = {}
        self._synced_at = clock()
        self._changed = asyncio.Condition()

    def register(self, ami: AmiClient) -> None:
        """Subscribe to the member and call events, and resync after every login."""
        for name in ("QueueMemberAdded", "QueueMemberPause", "QueueMemberStatus"):
            ami.on(name, self.on_member)
        ami.on("QueueMemberRemoved", self.on_member_removed)
        ami.on("AgentCalled", self.on_agent_called)
        for name in ("AgentConnect", "AgentRingNoAnswer", "AgentComplete"):
            ami.on(name, self.on_agent_call_over)
        ami.on("QueueCallerAbandon", self.on_caller_gone)

        async def after_login() -> None:
            await self.resync_after_login(ami)

        ami.on_login(after_login)

    def current(self, interface: str) -> Presence:
        """The state of an interface as Asterisk last reported it."""
        member = self._members.get(interface)
        state = derive_state(member)
        since = self._since.get(interface)
        return Presence(
            state=state,
            paused=member.paused if member else False,
            reason=(member.reason or None) if member and member.paused else None,
            asterisk_status=member.status if member else None,
            since=since or self._synced_at,
        )

    def states(self) -> Counter[AgentState]:
        """How many queue members are in each state (members only: none is logged out)."""
        return Counter(derive_state(member) for member in self._members.values())

    async def wait_until(
        self, interface: str, check: Callable[[Presence], bool], timeout: float
    ) -> bool:
        """Whether the interface's state passes `check` within `timeout` seconds."""
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: check(self.current(interface))), timeout
                )
            except TimeoutError:
                return False
        return True

    async def on_member(self, event: Event) -> None:
        """A member joined, (un)paused or changed device status."""
        if event.get("Queue") == self.queue:
            # device states are published asynchronously and, for Local members, flip while
            # the call is set up: they never end a ring; the call events and the caller do
            member = member_of(event, self._members.get(event.get("Interface", "")))
            await self._store(member.interface, member, self._when(event))

    async def on_member_removed(self, event: Event) -> None:
        """A member left the queue."""
        if event.get("Queue") == self.queue:
            await self._store(event.get("Interface", ""), None, self._when(event))

    async def on_agent_called(self, event: Event) -> None:
        """The queue rings a member."""
        await self._set_calling(event, calling=True)

    async def on_agent_call_over(self, event: Event) -> None:
        """The member answered (now talking), stopped ringing, or finished the call."""
        await self._set_calling(event, calling=False, talking=event.get("Event") == "AgentConnect")

    async def on_caller_gone(self, event: Event) -> None:
        """The caller hung up while members rang for them: their ringing is over."""
        for member in list(self._members.values()):
            if member.calling and member.calling_for == event.get("Uniqueid"):
                done = dataclasses.replace(member, calling=False, calling_for=None)
                await self._store(member.interface, done, self._when(event))

    async def resync_after_login(self, ami: AmiLink) -> None:
        """Rebuild the map from QueueStatus; until then the map is not trusted."""
        self.synced = False
        for attempt in range(1, RESYNC_ATTEMPTS + 1):
            try:
                await self.resync(ami)
                return
            except AmiError as exc:
                log.warning("agent_presence_resync_failed", attempt=attempt, error=str(exc))
            if attempt < RESYNC_ATTEMPTS:
                await asyncio.sleep(attempt)
        # the console answers 503 until the next login; the AMI watchdog forces one on a
        # link that stopped answering
        log.error("agent_presence_unsynced", queue=self.queue)

    async def resync(self, ami: AmiLink) -> None:
        """Replace the map with Asterisk's list of this queue's members."""
        reply = await ami.action({"Action": "QueueStatus", "Queue": self.queue}, RESYNC_TIMEOUT)
        listed = [
            member_of(message)
            for message in (reply if isinstance(reply, list) else [reply])
            if message.get("Event") == "QueueMember" and message.get("Queue") == self.queue
        ]
        fresh = {member.interface: member for member in listed}
        self._synced_at = now = self.clock()
        for interface in sorted(set(self._members) | set(fresh)):
            await self._store(interface, fresh.get(interface), now)
        self.synced = True
        log.info("agent_presence_synced", queue=self.queue, members=len(fresh))

    async def _set_calling(self, event: Event, *, calling: bool, talking: bool = False) -> None:
        member = self._members.get(event.get("Interface", ""))
        if event.get("Queue") == self.queue and member is not None:
            caller = event.get("Uniqueid") if calling else None
            changed = dataclasses.replace(
                member, calling=calling, calling_for=caller, talking=talking
            )
            await self._store(member.interface, changed, self._when(event))

    def _when(self, event: Event) -> datetime:
        # Asterisk's own time when manager.conf has timestampevents=yes
        try:
            return datetime.fromtimestamp(float(event["Timestamp"]), UTC)
        except (KeyError, ValueError):
            return self.clock()

    async def _store(self, interface: str, member: Member | None, at: datetime) -> None:
        before = self.current(interface)
        previous = self._members.pop(interface, None)
        if member is not None:
            self._members[interface] = member
        self._note_change(interface, before, member or previous, at)
        async with self._changed:
            self._changed.notify_all()

    def _note_change(
        self, interface: str, before: Presence, who: Member | None, at: datetime
    ) -> None:
        after = self.current(interface)
        if _shown(after) == _shown(before) and interface in self._since:
            return
        self._since[interface] = at
        log.info(
            "agent_state_changed",
            interface=interface,
            username=who.name if who else None,
            state=after.state.value,
            reason=after.reason,
            asterisk_status=after.asterisk_status,
        )


def _shown(presence: Presence) -> tuple[AgentState, bool, str | None]:
    # what the console shows: `since` moves only when this changes
    return presence.state, presence.paused, presence.reason
