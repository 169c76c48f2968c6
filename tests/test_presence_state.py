"""The presence map from sequences of app_queue events, as Asterisk 22 sends them.

The event fields are the ones Asterisk 22 emits (checked against the real one in
tests/test_presence_asterisk.py); a member reached through a Local/ channel reports "in use"
(2) while it rings, which is why AgentCalled counts.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from ivr.handlers.agent_presence import AgentPresence, AgentState

QUEUE = "hotline-agents"
ME = "Local/8101@agents-sim/n"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2030, 5, 6, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def member_event(name: str, status: int = 1, paused: bool = False, **extra: str) -> dict[str, str]:
    """A QueueMember* event about ME, with Asterisk's field names."""
    return {
        "Event": name,
        "Queue": QUEUE,
        "MemberName": "wang.li",
        "Interface": ME,
        "StateInterface": ME,
        "Membership": "dynamic",
        "InCall": "0",
        "Status": str(status),
        "Paused": "1" if paused else "0",
        "PausedReason": extra.pop("reason", ""),
        **extra,
    }


CALLER = "1764230400.7"


def call_event(name: str) -> dict[str, str]:
    """An Agent* event ringing or connecting ME for CALLER."""
    return {
        "Event": name,
        "Queue": QUEUE,
        "Interface": ME,
        "MemberName": "wang.li",
        "Uniqueid": CALLER,
    }


async def feed(presence: AgentPresence, *events: dict[str, str]) -> list[AgentState]:
    """Deliver events the way AgentPresence.register wires them; the state after each."""
    handlers: dict[str, Any] = {
        "QueueMemberAdded": presence.on_member,
        "QueueMemberPause": presence.on_member,
        "QueueMemberStatus": presence.on_member,
        "QueueMemberRemoved": presence.on_member_removed,
        "AgentCalled": presence.on_agent_called,
        "AgentConnect": presence.on_agent_call_over,
        "AgentRingNoAnswer": presence.on_agent_call_over,
        "AgentComplete": presence.on_agent_call_over,
        "QueueCallerAbandon": presence.on_caller_gone,
    }
    states = []
    for event in events:
        await handlers[event["Event"]](event)
        states.append(presence.current(ME).state)
    return states


@pytest.fixture
def presence() -> AgentPresence:
    """An empty map for the hotline queue."""
    return AgentPresence(QUEUE, clock=Clock())


async def test_added_paused_ringing_on_call_removed(presence: AgentPresence) -> None:
    states = await feed(
        presence,
        member_event("QueueMemberAdded"),
        member_event("QueueMemberPause", paused=True, reason="break"),
        member_event("QueueMemberPause"),
        member_event("QueueMemberStatus", status=6),
        member_event("QueueMemberStatus", status=2),
        member_event("QueueMemberStatus", status=1),
        member_event("QueueMemberRemoved"),
    )
    assert states == ["ready", "paused", "ready", "ringing", "on_call", "ready", "logged_out"]


async def test_pause_carries_its_reason_and_the_raw_status(presence: AgentPresence) -> None:
    await feed(presence, member_event("QueueMemberPause", status=5, paused=True, reason="meal"))
    view = presence.current(ME)
    assert (view.state, view.paused, view.reason, view.asterisk_status) == (
        "paused",
        True,
        "meal",
        5,
    )


async def test_a_call_outranks_a_pause_and_the_pause_shows_after_it(
    presence: AgentPresence,
) -> None:
    """After-call work chosen while still talking: on_call now, paused when the call ends."""
    states = await feed(
        presence,
        member_event("QueueMemberStatus", status=2),
        member_event("QueueMemberPause", status=2, paused=True, reason="after_call_work"),
        member_event("QueueMemberStatus", status=1, paused=True, reason="after_call_work"),
    )
    assert states == ["on_call", "on_call", "paused"]
    assert presence.current(ME).reason == "after_call_work"


async def test_local_member_rings_until_agent_connect(presence: AgentPresence) -> None:
    """A Local/ member says "in use" while ringing; AgentCalled..AgentConnect is the ring."""
    states = await feed(
        presence,
        member_event("QueueMemberAdded"),
        call_event("AgentCalled"),
        member_event("QueueMemberStatus", status=2),
        call_event("AgentConnect"),
        call_event("AgentComplete"),
        member_event("QueueMemberStatus", status=1),
    )
    assert states == ["ready", "ringing", "ringing", "on_call", "on_call", "ready"]


async def test_a_ring_that_stops_without_answer_ends_ringing(presence: AgentPresence) -> None:
    """The caller hung up while the agent's phone rang: the queue's abandon event says so."""
    states = await feed(
        presence,
        member_event("QueueMemberAdded"),
        call_event("AgentCalled"),
        member_event("QueueMemberStatus", status=2),
        member_event("QueueMemberStatus", status=1),  # Local members flip: not an answer
        {"Event": "QueueCallerAbandon", "Queue": QUEUE, "Uniqueid": CALLER},
    )
    assert states[-1] == "ready"
    states = await feed(presence, call_event("AgentCalled"), call_event("AgentRingNoAnswer"))
    assert states == ["ringing", "ready"]


async def test_a_stale_idle_status_does_not_end_a_ring(presence: AgentPresence) -> None:
    """Device states lag call events: "not in use" right after AgentCalled is old news."""
    states = await feed(
        presence,
        member_event("QueueMemberAdded"),
        call_event("AgentCalled"),
        member_event("QueueMemberStatus", status=1),  # stale: published before the ring
        member_event("QueueMemberStatus", status=2),
        call_event("AgentConnect"),
    )
    assert states == ["ready", "ringing", "ringing", "ringing", "on_call"]


async def test_other_queues_and_unknown_members_are_ignored(presence: AgentPresence) -> None:
    other = member_event("QueueMemberAdded") | {"Queue": "complaints"}
    assert await feed(presence, other, call_event("AgentCalled")) == ["logged_out"] * 2


async def test_since_moves_only_when_the_shown_state_changes(presence: AgentPresence) -> None:
    clock = presence.clock
    assert isinstance(clock, Clock)
    await feed(presence, member_event("QueueMemberAdded"))
    joined = clock.now
    clock.now += timedelta(minutes=5)
    await feed(presence, member_event("QueueMemberStatus", status=1))  # a repeat: no change
    assert presence.current(ME).since == joined
    await feed(presence, member_event("QueueMemberPause", paused=True, reason="meal"))
    assert presence.current(ME).since == clock.now


async def test_asterisk_event_time_is_used_when_given(presence: AgentPresence) -> None:
    await feed(presence, member_event("QueueMemberAdded", Timestamp="1900000000.250000"))
    assert presence.current(ME).since == datetime.fromtimestamp(1900000000.25, UTC)


async def test_every_change_is_logged_with_the_member_name(presence: AgentPresence) -> None:
    with capture_logs() as logs:
        await feed(presence, member_event("QueueMemberAdded"), member_event("QueueMemberRemoved"))
    changes = [e for e in logs if e["event"] == "agent_state_changed"]
    assert [(e["username"], e["state"]) for e in changes] == [
        ("wang.li", "ready"),
        ("wang.li", "logged_out"),
    ]


class Listing:
    """A stand-in AMI link that answers QueueStatus with a fixed list."""

    def __init__(self, *members: dict[str, str]) -> None:
        self.logged_in = asyncio.Event()
        self.logged_in.set()
        self.members = members

    async def action(self, fields: Any, timeout: float = 10.0) -> list[dict[str, str]]:
        assert fields == {"Action": "QueueStatus", "Queue": QUEUE}
        start = {"Response": "Success", "EventList": "start"}
        return [start, *self.members, {"Event": "QueueStatusComplete"}]


def listed(interface: str, **fields: str) -> dict[str, str]:
    """A QueueMember entry of a QueueStatus reply (Name and Location, not MemberName)."""
    base = {"Event": "QueueMember", "Queue": QUEUE, "Name": interface, "Location": interface}
    return base | {"Status": "1", "Paused": "0", "PausedReason": ""} | fields


async def test_resync_replaces_the_map_with_what_asterisk_lists(presence: AgentPresence) -> None:
    gone = "PJSIP/8002"
    await feed(presence, member_event("QueueMemberAdded"))
    await presence.on_member(member_event("QueueMemberAdded") | {"Interface": gone})
    assert not presence.synced
    await presence.resync(Listing(listed(ME, Name="wang.li", Paused="1", PausedReason="training")))
    assert presence.synced
    mine = presence.current(ME)
    assert (mine.state, mine.reason) == ("paused", "training")
    assert presence.current(gone).state == "logged_out", "missed QueueMemberRemoved"


async def test_answered_agent_is_on_call_before_the_device_state_catches_up(
    presence: AgentPresence,
) -> None:
    """Device states lag AgentConnect: seen on a full run as ringing → ready → on_call."""
    states = await feed(
        presence,
        member_event("QueueMemberAdded"),
        call_event("AgentCalled"),
        call_event("AgentConnect"),  # the member's status still says "not in use"
        member_event("QueueMemberStatus", status=2),
        call_event("AgentComplete"),
        member_event("QueueMemberStatus", status=1),
    )
    assert states == ["ready", "ringing", "on_call", "on_call", "on_call", "ready"]
