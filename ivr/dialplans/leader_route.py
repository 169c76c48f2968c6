"""领导接听日: send the call to the duty leader's desk, or say why the agents take it.

The desk is a queue (settings.leader_queue_name) whose members are set here from the duty
schedule at each call, so a schedule change takes effect with the next call. A desk with
nobody free (the leader is on another call) does not make the caller wait: they hear that
the leader is busy and may press 1 to be called back instead of waiting for an agent.
"""

from __future__ import annotations

import structlog

from ivr.agi.channel import AgiChannel
from ivr.db import leader_calls, screen_pops
from ivr.db.models import CaseEventKind
from ivr.dialplans import variables
from ivr.dialplans.prompting import say
from ivr.duty.model import Duty
from ivr.services import Services

log = structlog.get_logger(__name__)

CALLBACK_KEY = "1"
CALLBACK_WAIT_SECONDS = 4.0


class LeaderRoute:
    """The leader-day part of one call, after its draft exists."""

    def __init__(self, channel: AgiChannel, services: Services, duty: Duty, case_id: int) -> None:
        self.channel = channel
        self.services = services
        self.duty = duty
        self.case_id = case_id
        self.desk = services.settings.leader_queue_name

    async def execute(self) -> None:
        """Route to the desk, or (busy) offer a call back and leave the call to the agents."""
        await self.staff_desk()
        if await self.desk_has_room():
            await self.channel.set_var(variables.ROUTE, variables.ROUTE_LEADER)
            await self._note(CaseEventKind.LEADER_ROUTED)
            log.info("leader_routed", leader=self.duty.leader.name, case_id=self.case_id)
            return
        await self._note(CaseEventKind.LEADER_BUSY)
        log.info("leader_busy", leader=self.duty.leader.name, case_id=self.case_id)
        if await self.wants_callback():
            await self._note(CaseEventKind.CALLBACK_REQUESTED, needs_callback=True)
            await say(self.channel, self.services.settings, "callback_noted")
            await self.channel.set_var(variables.ROUTE, variables.ROUTE_DONE)

    async def staff_desk(self) -> None:
        """Make the desk's members the duty leader's endpoints, and nobody else."""
        listed = await self.channel.get_var(f"QUEUE_MEMBER_LIST({self.desk})") or ""
        present = {member for member in listed.split(",") if member}
        wanted = set(self.duty.leader.endpoints)
        for endpoint in sorted(wanted - present):
            name = await screen_pops.popped_user(
                self.services.db, member_name="", interface=endpoint
            )
            member = name or self.duty.leader.name
            await self.channel.exec_app("AddQueueMember", f"{self.desk},{endpoint},,,{member}")
        for endpoint in sorted(present - wanted):  # yesterday's leader, an edited schedule
            await self.channel.exec_app("RemoveQueueMember", f"{self.desk},{endpoint}")

    async def desk_has_room(self) -> bool:
        """A free member for this caller (callers already waiting there come first)."""
        free = await self._count(f"QUEUE_MEMBER({self.desk},free)")
        waiting = await self._count(f"QUEUE_WAITING_COUNT({self.desk})")
        return free > waiting

    async def wants_callback(self) -> bool:
        """Play the busy prompt; whether the caller pressed 1 for a call back."""
        key = await say(self.channel, self.services.settings, "leader_busy", CALLBACK_KEY)
        if key is None:
            key = await self.channel.wait_for_digit(CALLBACK_WAIT_SECONDS)
        return key == CALLBACK_KEY

    async def _count(self, expression: str) -> int:
        value = await self.channel.get_var(expression)
        return int(value) if value is not None and value.isdigit() else 0

    async def _note(self, kind: CaseEventKind, *, needs_callback: bool = False) -> None:
        details = {
            "leader": self.duty.leader.name,
            "shift_id": self.duty.shift.id,
            "endpoints": list(self.duty.leader.endpoints),
        }
        flags = {"needs_callback": True} if needs_callback else None
        await leader_calls.note_leader_event(
            self.services.db,
            self.case_id,
            kind,
            at=self.services.clock(),
            details=details,
            flags=flags,
        )
