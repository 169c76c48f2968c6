"""Screen-pops: which case is on which agent's screen, kept until the agent is done with it.

A pop is opened when the queue rings an agent (AgentCalled), follows the call (connected,
ended) and closes when the agent registers the case, dismisses it, or the phone rang out.
Stored, not just sent: a page that reconnects, or a page served by another ivr process,
gets every open pop again. One row per (call, agent): the queue ringing the same agent
twice reopens it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.console_models import PopClose, PopState, ScreenPop, User
from ivr.db.models import Call, Case, Role, snapshot

# Who can be rung by the hotline queue and so gets pops.
POPPED_ROLES = (Role.AGENT.value, Role.LEADER.value)


@dataclasses.dataclass(frozen=True)
class PopView:
    """A screen-pop as stored."""

    id: int
    username: str
    interface: str
    case_id: int
    call_uniqueid: str
    state: PopState
    received_at: datetime
    connected_at: datetime | None
    ended_at: datetime | None
    acked_at: datetime | None
    closed_at: datetime | None
    close_reason: PopClose | None

    @property
    def is_open(self) -> bool:
        """Whether the pop is still on the agent's screen."""
        return self.closed_at is None


async def popped_user(sm: Sessions, *, member_name: str, interface: str) -> str | None:
    """The console user a ringing queue member is: by member name (our QueueAdd sets the
    username), else by interface (members added in queues.conf); None for neither."""
    query = select(User.username).where(User.active, User.role.in_(POPPED_ROLES))
    by_name = query.where(User.username == member_name)
    by_interface = query.where(User.interface == interface).order_by(User.id).limit(2)
    async with sm() as session:
        found = await session.scalar(by_name) if member_name else None
        if found:
            return found
        # a phone shared by two logins (day and night shift) says nothing about who is at it
        sharing = list(await session.scalars(by_interface))
        return sharing[0] if len(sharing) == 1 else None


async def open_pop(
    sm: Sessions,
    *,
    username: str,
    interface: str,
    case_id: int,
    call_uniqueid: str,
    received_at: datetime,
) -> PopView:
    """Put the case on the agent's screen (again, if the queue rings them a second time)."""
    async with sm.begin() as session:
        pop = await _pop_for(session, call_uniqueid, username)
        if pop is None:
            pop = ScreenPop(username=username, call_uniqueid=call_uniqueid)
            session.add(pop)
        elif pop.state == PopState.CONNECTED and pop.closed_at is None:
            return _view(pop)  # a repeated event (AMI reconnect): the call is already theirs
        elif pop.close_reason == PopClose.REGISTERED:
            return _view(pop)  # the case is registered: nothing left to pop
        pop.interface, pop.case_id, pop.received_at = interface, case_id, received_at
        pop.state, pop.connected_at, pop.ended_at = PopState.RINGING.value, None, None
        pop.closed_at = pop.close_reason = pop.acked_at = None  # a new ring: show it again
        await session.flush()
        return _view(pop)


async def mark_connected(
    sm: Sessions, call_uniqueid: str, username: str, *, at: datetime
) -> PopView | None:
    """AgentConnect: the agent took the call, the draft becomes editable."""
    async with sm.begin() as session:
        pop = await _pop_for(session, call_uniqueid, username)
        if pop is None:
            return None
        pop.state, pop.connected_at = PopState.CONNECTED.value, pop.connected_at or at
        if pop.close_reason == PopClose.MISSED:  # a late RingNoAnswer must not hide it
            pop.closed_at = pop.close_reason = None
        return _view(pop)


async def mark_missed(
    sm: Sessions, call_uniqueid: str, username: str, *, at: datetime
) -> PopView | None:
    """AgentRingNoAnswer: the phone rang out; the pop leaves this agent's screen."""
    async with sm.begin() as session:
        pop = await _pop_for(session, call_uniqueid, username)
        if pop is None or pop.closed_at is not None or pop.state != PopState.RINGING:
            return None
        pop.closed_at, pop.close_reason = at, PopClose.MISSED.value
        return _view(pop)


async def mark_call_over(sm: Sessions, call_uniqueid: str, *, at: datetime) -> list[PopView]:
    """The call ended: a connected pop stays for after-call work, a ringing one closes."""
    async with sm.begin() as session:
        pops = await _open_pops(session, ScreenPop.call_uniqueid == call_uniqueid)
        for pop in pops:
            if pop.state == PopState.RINGING:
                pop.closed_at, pop.close_reason = at, PopClose.MISSED.value
            pop.state, pop.ended_at = PopState.ENDED.value, pop.ended_at or at
        return [_view(pop) for pop in pops]


async def settle_ended_calls(sm: Sessions, *, at: datetime) -> list[PopView]:
    """Pops still ringing or connected whose call has ended (events missed while this
    process was down): ended, or closed as missed when they only rang."""
    ended = select(Call.uniqueid).where(Call.ended_at.is_not(None))
    async with sm.begin() as session:
        pops = await _open_pops(
            session,
            ScreenPop.state != PopState.ENDED.value,
            ScreenPop.call_uniqueid.in_(ended),
        )
        for pop in pops:
            if pop.state == PopState.RINGING:
                pop.closed_at, pop.close_reason = at, PopClose.MISSED.value
            pop.state, pop.ended_at = PopState.ENDED.value, pop.ended_at or at
        return [_view(pop) for pop in pops]


async def acknowledge(sm: Sessions, pop_id: int, username: str, *, at: datetime) -> bool:
    """The agent's page showed the pop; False when it is not this agent's pop."""
    async with sm.begin() as session:
        result = await session.execute(
            update(ScreenPop)
            .where(ScreenPop.id == pop_id, ScreenPop.username == username)
            .where(ScreenPop.acked_at.is_(None))
            .values(acked_at=at)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        return (
            await session.scalar(
                select(ScreenPop.id).where(ScreenPop.id == pop_id, ScreenPop.username == username)
            )
            is not None
        )


async def close_pops(
    sm: Sessions, case_id: int, *, reason: PopClose, at: datetime, username: str | None = None
) -> list[PopView]:
    """Take a case off the screens it is on (one agent's, or everyone's)."""
    async with sm.begin() as session:
        return await close_pops_in(session, case_id, reason=reason, at=at, username=username)


async def close_pops_in(
    session: AsyncSession,
    case_id: int,
    *,
    reason: PopClose,
    at: datetime,
    username: str | None = None,
) -> list[PopView]:
    """`close_pops` inside the caller's transaction (registration closes its pops with it)."""
    where = [ScreenPop.case_id == case_id]
    if username is not None:
        where.append(ScreenPop.username == username)
    pops = await _open_pops(session, *where)
    for pop in pops:
        pop.closed_at, pop.close_reason = at, reason.value
    return [_view(pop) for pop in pops]


async def open_pops_of(sm: Sessions, username: str) -> list[PopView]:
    """The pops on an agent's screen, oldest first."""
    async with sm() as session:
        pops = await _open_pops(session, ScreenPop.username == username)
        return [_view(pop) for pop in pops]


async def live_popped_calls(sm: Sessions) -> set[str]:
    """The calls of open pops whose call has not ended (what a new process must follow)."""
    query = select(ScreenPop.call_uniqueid).where(
        ScreenPop.closed_at.is_(None), ScreenPop.state != PopState.ENDED.value
    )
    async with sm() as session:
        return set(await session.scalars(query))


async def users_showing(sm: Sessions, case_id: int) -> list[str]:
    """Who has the case on screen now."""
    query = select(ScreenPop.username).where(
        ScreenPop.case_id == case_id, ScreenPop.closed_at.is_(None)
    )
    async with sm() as session:
        return sorted(set(await session.scalars(query)))


async def get_pop(sm: Sessions, pop_id: int) -> PopView | None:
    """One pop, open or not."""
    async with sm() as session:
        pop = await session.get(ScreenPop, pop_id)
        return _view(pop) if pop is not None else None


async def holds_case(sm: Sessions, username: str, case_id: int, *, answered: bool = False) -> bool:
    """Whether the case is this agent's to work: on their screen, or claimed by them
    (`answered`: a pop only counts once its call was answered, as for registering)."""
    popped = select(ScreenPop.id).where(
        ScreenPop.case_id == case_id, ScreenPop.username == username, ScreenPop.closed_at.is_(None)
    )
    if answered:
        popped = popped.where(ScreenPop.state != PopState.RINGING.value)
    claimed = select(Case.id).where(Case.id == case_id, Case.claimed_by == username)
    async with sm() as session:
        found = await session.scalar(select(or_(popped.exists(), claimed.exists())))
        return bool(found)


async def _pop_for(session: AsyncSession, call_uniqueid: str, username: str) -> ScreenPop | None:
    query = select(ScreenPop).where(
        ScreenPop.call_uniqueid == call_uniqueid, ScreenPop.username == username
    )
    return await session.scalar(query.with_for_update())


async def _open_pops(session: AsyncSession, *where: object) -> list[ScreenPop]:
    query = select(ScreenPop).where(ScreenPop.closed_at.is_(None), *where)  # type: ignore[arg-type]
    found = await session.scalars(query.order_by(ScreenPop.received_at, ScreenPop.id))
    return list(found)


def _view(pop: ScreenPop) -> PopView:
    reason = PopClose(pop.close_reason) if pop.close_reason else None
    return snapshot(PopView, pop, state=PopState(pop.state), close_reason=reason)
