"""Queue and channel events from AMI become the call record: waits, agents, outcomes.

Only the hotline's own channels count: the caller side of a 12345 call (context `hotline`)
and the queue this process serves. Events may arrive before the AGI flow has written
anything, and may repeat after an AMI reconnect; the repository functions are idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import structlog

from ivr.ami.client import AmiClient, Event
from ivr.db import calls, cases, leader_calls
from ivr.dialplans import variables
from ivr.services import Services

log = structlog.get_logger(__name__)


def channel_vars(event: Event, header: str = "ChanVariable") -> dict[str, str]:
    """The `channelvars` an event carries, as a dict (one header may appear many times)."""
    raw = event.get(header)
    items = raw if isinstance(raw, list) else [raw] if raw else []
    pairs = (item.split("=", 1) for item in items if "=" in item)
    return {key: value for key, value in pairs}


def _seconds(event: Mapping[str, str], key: str) -> float | None:
    value = event.get(key, "")
    return float(value) if value.replace(".", "", 1).isdigit() else None


class QueueEventHandlers:
    """Handlers registered on the AMI client; each is one small translation."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.queue = services.settings.queue_name
        self.leader_queue = services.settings.leader_queue_name
        self.queues = frozenset({self.queue, self.leader_queue})
        # calls seen in this process: their Hangup counts even from another context
        # (after a transfer), where the context filter alone would miss it
        self._live: set[str] = set()

    def _when(self, event: Event) -> datetime:
        # Asterisk's own timestamp (timestampevents=yes): exact even when our handling lags
        try:
            return datetime.fromtimestamp(float(event["Timestamp"]), UTC)
        except (KeyError, ValueError):
            return self.services.clock()

    def register(self, ami: AmiClient) -> None:
        """Subscribe to the events that shape a call record."""
        ami.on("Newchannel", self.on_new_channel)
        ami.on("QueueCallerJoin", self.on_caller_join)
        ami.on("AgentCalled", self.on_agent_called)
        ami.on("AgentConnect", self.on_agent_connect)
        ami.on("AgentComplete", self.on_agent_complete)
        ami.on("QueueCallerAbandon", self.on_caller_abandon)
        ami.on("Hangup", self.on_hangup)

    async def on_new_channel(self, event: Event) -> None:
        """A call to 12345 exists from its first moment, before any prompt plays."""
        if not _is_hotline_call(event):
            return
        self._live.add(event["Uniqueid"])
        await calls.open_call(
            self.services.db,
            uniqueid=event["Uniqueid"],
            channel=event.get("Channel", ""),
            caller_number=_caller(event),
            started_at=self._when(event),
            stage="greeting",
        )

    async def on_caller_join(self, event: Event) -> None:
        """The caller is waiting for an agent; a fallback call gets a draft to work on."""
        queue = event.get("Queue")
        if queue not in self.queues:
            return
        chanvars = channel_vars(event)
        fallback = chanvars.get(variables.FALLBACK) == "1"
        uniqueid = event["Uniqueid"]
        self._live.add(uniqueid)
        await calls.record_queue_join(
            self.services.db, uniqueid, at=self._when(event), queue=queue, via_fallback=fallback
        )
        if queue == self.queue and chanvars.get(variables.ROUTE) == variables.ROUTE_LEADER:
            # the leader's desk did not take it (the dialplan came back from its Queue())
            result = chanvars.get(variables.LEADER_RESULT) or "UNKNOWN"
            log.info("leader_fell_back", uniqueid=uniqueid, result=result)
            await leader_calls.leader_fell_back(
                self.services.db, uniqueid, at=self._when(event), result=result
            )
        if fallback:
            log.warning("call_reached_queue_without_ivr", uniqueid=uniqueid)
            await self._draft_for_fallback(event)

    async def _draft_for_fallback(self, event: Event) -> None:
        # the IVR never ran: the agent gets an empty draft tied to the call to fill in
        if await cases.case_for_call(self.services.db, event["Uniqueid"]) is not None:
            return
        await cases.create_blank_draft(
            self.services.db, call_uniqueid=event["Uniqueid"], caller_number=_caller(event) or ""
        )

    async def on_agent_called(self, event: Event) -> None:
        """An agent's (or the duty leader's) phone rings with this call."""
        if event.get("Queue") in self.queues:
            await calls.record_agent_called(
                self.services.db,
                event["Uniqueid"],
                at=self._when(event),
                agent=event.get("MemberName") or event.get("Interface", ""),
            )

    async def on_agent_connect(self, event: Event) -> None:
        """An agent answered (on the leader's desk: the case becomes a leader's case)."""
        if event.get("Queue") not in self.queues:
            return
        member = event.get("MemberName") or event.get("Interface", "")
        await calls.record_agent_connect(
            self.services.db,
            event["Uniqueid"],
            at=self._when(event),
            agent=member,
            hold_seconds=_seconds(event, "HoldTime"),
        )
        if event.get("Queue") == self.leader_queue:
            await leader_calls.leader_answered(
                self.services.db, event["Uniqueid"], at=self._when(event), member=member
            )

    async def on_agent_complete(self, event: Event) -> None:
        """The agent call ended; talk time is known."""
        # seen without a Uniqueid while Asterisk tears a call down at shutdown
        if event.get("Queue") in self.queues and event.get("Uniqueid"):
            await calls.record_agent_complete(
                self.services.db,
                event["Uniqueid"],
                at=self._when(event),
                talk_seconds=_seconds(event, "TalkTime"),
                reason=event.get("Reason"),
            )

    async def on_caller_abandon(self, event: Event) -> None:
        """The caller gave up waiting: flag the call and its case for a callback."""
        if event.get("Queue") in self.queues:
            log.info("caller_abandoned_queue", uniqueid=event["Uniqueid"])
            await calls.record_abandon(
                self.services.db,
                event["Uniqueid"],
                at=self._when(event),
                wait_seconds=_seconds(event, "HoldTime"),
            )

    async def on_hangup(self, event: Event) -> None:
        """The call is over: close its record (creating it if nothing else did)."""
        known = event.get("Uniqueid", "") in self._live
        if not (known or _is_hotline_call(event)):
            return
        self._live.discard(event["Uniqueid"])
        await calls.record_hangup(
            self.services.db,
            event["Uniqueid"],
            at=self._when(event),
            cause=event.get("Cause-txt") or event.get("Cause"),
            channel=event.get("Channel"),
            caller_number=_caller(event),
        )


def _is_hotline_call(event: Event) -> bool:
    # the `;1` half of a Local channel dialing 12345 is the calling side, not a hotline call
    channel = event.get("Channel", "")
    calling_half = channel.startswith("Local/") and channel.endswith(";1")
    return (
        event.get("Context") == variables.HOTLINE_CONTEXT
        and event.get("Exten") == variables.HOTLINE_EXTEN
        and not calling_half
    )


def _caller(event: Event) -> str | None:
    return variables.known_caller(event.get("CallerIDNum"))
