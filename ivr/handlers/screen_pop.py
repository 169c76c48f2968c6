"""Queue events become screen-pops: the case of the call that rings an agent, at once.

AgentCalled carries the caller's IVR_CASE_ID (manager.conf `channelvars`); the member name
is the console username (our QueueAdd sets it), or the member's interface names the user.
The pop is stored, then a notice goes to the agent's page. These handlers have an AMI lane
of their own: a pop never waits behind the call-record writes of the events before it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from ivr.ami.client import AmiClient, Event, received_at
from ivr.db import cases, screen_pops
from ivr.db.calls import Sessions
from ivr.db.screen_pops import PopView
from ivr.dialplans import variables
from ivr.handlers.queue_events import channel_vars
from ivr.services import Services
from ivr.web.pop_bus import Notice, NoticeKind, PopBus

log = structlog.get_logger(__name__)

LANE = "screen_pop"


class ScreenPopHandlers:
    """AgentCalled → pop; AgentConnect → editable; ring-out or call over → update/close."""

    def __init__(self, services: Services, bus: PopBus) -> None:
        self.services = services
        self.bus = bus
        # the agents' queue and the duty leader's desk: both pop the case on a console
        self.queues = frozenset({services.settings.queue_name, services.settings.leader_queue_name})
        self._popped: set[str] = set()  # calls with pops in this process: their Hangup counts

    def register(self, ami: AmiClient) -> None:
        """Subscribe, on the screen-pop lane."""
        ami.on("AgentCalled", self.on_agent_called, lane=LANE)
        ami.on("AgentConnect", self.on_agent_connect, lane=LANE)
        ami.on("AgentRingNoAnswer", self.on_ring_no_answer, lane=LANE)
        for name in ("AgentComplete", "QueueCallerAbandon", "Hangup"):
            ami.on(name, self.on_call_over, lane=LANE)

    async def on_agent_called(self, event: Event) -> None:
        """Pop the call's case on the rung agent's screen."""
        if event.get("Queue") not in self.queues or not event.get("Uniqueid"):
            return
        arrived = received_at(event)
        db, uniqueid = self.services.db, event["Uniqueid"]
        username = await screen_pops.popped_user(
            db, member_name=event.get("MemberName", ""), interface=event.get("Interface", "")
        )
        if username is None:
            return  # a member with no console (a desk phone outside the system)
        case_id = await self._case_of(event)
        pop = await screen_pops.open_pop(
            db,
            username=username,
            interface=event.get("Interface", ""),
            case_id=case_id,
            call_uniqueid=uniqueid,
            received_at=self.services.clock(),
        )
        self._popped.add(uniqueid)
        await self._notify(pop, NoticeKind.POP, received=arrived)
        log.info("screen_pop_opened", pop_id=pop.id, case_id=case_id, username=username)

    async def on_agent_connect(self, event: Event) -> None:
        """The agent answered: the pop becomes editable and its talk timer starts."""
        await self._follow(event, screen_pops.mark_connected, NoticeKind.POP)

    async def on_ring_no_answer(self, event: Event) -> None:
        """The phone rang out: the queue tries someone else, the pop leaves this screen."""
        await self._follow(event, screen_pops.mark_missed, NoticeKind.CLOSE)

    async def on_call_over(self, event: Event) -> None:
        """The caller left or the conversation ended: pops stay for after-call work."""
        uniqueid = event.get("Uniqueid", "")
        if uniqueid not in self._popped:
            return
        # the first of AgentComplete / QueueCallerAbandon / Hangup settles it: one write
        self._popped.discard(uniqueid)
        for pop in await screen_pops.mark_call_over(
            self.services.db, uniqueid, at=self.services.clock()
        ):
            await self._notify(pop, NoticeKind.POP if pop.is_open else NoticeKind.CLOSE)

    async def settle_after_login(self) -> None:
        """After a (re)connection, end the pops of calls that ended while we were away, and
        follow the calls of the others (a restarted process knows nothing of them)."""
        settled = await screen_pops.settle_ended_calls(self.services.db, at=self.services.clock())
        for pop in settled:
            await self._notify(pop, NoticeKind.POP if pop.is_open else NoticeKind.CLOSE)
        self._popped |= await screen_pops.live_popped_calls(self.services.db)

    async def _follow(
        self,
        event: Event,
        change: Callable[..., Awaitable[PopView | None]],
        kind: NoticeKind,
    ) -> None:
        if event.get("Queue") not in self.queues or not event.get("Uniqueid"):
            return
        username = await screen_pops.popped_user(
            self.services.db,
            member_name=event.get("MemberName", ""),
            interface=event.get("Interface", ""),
        )
        if username is None:
            return
        pop = await change(self.services.db, event["Uniqueid"], username, at=self.services.clock())
        if pop is not None:
            await self._notify(pop, kind)  # latency is measured for the first pop only

    async def _case_of(self, event: Event) -> int:
        raw = channel_vars(event).get(variables.CASE_ID, "")
        if raw.isdigit():
            return int(raw)
        # the IVR never set one (AGI down): the fallback draft of the call, or a blank one
        found = await cases.case_for_call(self.services.db, event["Uniqueid"])
        if found is not None:
            return found.id
        caller = variables.known_caller(event.get("CallerIDNum")) or ""
        return await cases.create_blank_draft(
            self.services.db, call_uniqueid=event["Uniqueid"], caller_number=caller
        )

    async def _notify(self, pop: PopView, kind: NoticeKind, received: float | None = None) -> None:
        notice = Notice(pop.username, kind, pop.id, pop.case_id, received, view=pop)
        await self.bus.publish(notice)


def case_changed_notifier(db: Sessions, bus: PopBus) -> Callable[[int], Awaitable[None]]:
    """What the IVR calls when it wrote onto a case: the pages showing it refresh."""

    async def case_changed(case_id: int) -> None:
        for username in await screen_pops.users_showing(db, case_id):
            await bus.publish(Notice(username, NoticeKind.CASE, case_id=case_id))

    return case_changed
