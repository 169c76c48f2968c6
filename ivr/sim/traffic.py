"""Synthetic hotline traffic for statistics tests and benchmarks: calls through the queue,
the cases they leave and the cases' workflow rows, as plain row dicts ready to bulk-insert.

A day's calls arrive on a working-day curve in the service time zone (busiest 9-11 and
14-17 h); each waits for an agent (longer at the peaks) or gives up. On a leader-duty day
(Wednesdays 09:00-12:00 by default) callers reach the leader's desk queue first: the leader
takes some calls, the rest fall back to the agents. A few calls carry the irregular facts the
figures must survive (a lost AgentConnect, no Asterisk hold time, an end never recorded).
Every answered call leaves a case (`ivr.sim.traffic_cases` plays its workflow); some
abandoned ones leave a draft.

Nothing happens after `plan.now`: a call or case still under way then is left as it stands.
Everything is drawn from `random.Random(seed, day)`, so a plan always gives the same rows.
Rows are dicts keyed by column name, with explicit ids from `plan.first_ids`.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.cases.taxonomy import load_taxonomy
from ivr.sim.traffic_cases import CaseMaker, Ids, catalogue

Row = dict[str, Any]
SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENTS_QUEUE, LEADER_QUEUE = "hotline-agents", "leader-desk"
LEADER_INTERFACE = "PJSIP/8001"
# relative call volume per local hour 0..23 (a 12345 working day)
HOURLY = (
    *(0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.6, 1.6, 4.2, 7.2, 8.0, 7.4),
    *(5.0, 5.2, 7.1, 7.6, 7.0, 6.0, 4.1, 3.2, 2.6, 2.1, 1.3, 0.6),
)  # fmt: skip
PEAK_HOURS = frozenset({9, 10, 11, 14, 15, 16})


@dataclasses.dataclass(frozen=True)
class Plan:
    """What to generate: `days` days from `first_day`, about `calls_per_day` queue calls each."""

    first_day: date
    days: int
    calls_per_day: int = 20_000
    seed: int = 12345
    zone: ZoneInfo = SHANGHAI
    agents: int = 0  # 0: one per 80 calls a day
    leader_weekday: int | None = 2  # Wednesday; None: no leader days
    leader_hours: tuple[int, int] = (9, 12)
    now: datetime | None = None  # nothing happens after it (default: end of the last day)
    first_ids: Ids = dataclasses.field(default_factory=Ids)

    @property
    def until(self) -> datetime:
        """The instant the world stops."""
        if self.now is not None:
            return self.now
        end = datetime.combine(self.first_day + timedelta(days=self.days), time(), self.zone)
        return end.astimezone(UTC)

    @property
    def agent_count(self) -> int:
        """How many agents answer the queue."""
        return self.agents or max(2, self.calls_per_day // 80)


@dataclasses.dataclass
class Traffic:
    """The rows of some days, by table."""

    calls: list[Row] = dataclasses.field(default_factory=list)
    cases: list[Row] = dataclasses.field(default_factory=list)
    case_assignments: list[Row] = dataclasses.field(default_factory=list)
    case_replies: list[Row] = dataclasses.field(default_factory=list)
    case_surveys: list[Row] = dataclasses.field(default_factory=list)

    def extend(self, other: Traffic) -> None:
        """Add another batch's rows."""
        for name in TABLES:
            getattr(self, name).extend(getattr(other, name))


TABLES = ("cases", "calls", "case_assignments", "case_replies", "case_surveys")  # insert order


def agent_interfaces(plan: Plan) -> list[str]:
    """The queue members who answer calls."""
    return [f"PJSIP/6{n:03d}" for n in range(plan.agent_count)]


def reference_rows(plan: Plan) -> dict[str, list[Row]]:
    """Rows the traffic refers to: the departments and the agents' (disabled) logins."""
    at = datetime.combine(plan.first_day, time(), plan.zone).astimezone(UTC)
    names = sorted({name for name, _ in catalogue()})
    departments = [
        {"name": n, "active": True, "created_at": at, "created_by": "sim"} for n in names
    ]
    users = [
        {
            "username": f"sim-agent-{n}",
            "display_name": f"坐席{n + 1:03d}",
            "password_hash": "!",  # no password verifies against it
            "role": "agent",
            "interface": interface,
            "department": None,
            "active": False,
            "created_at": at,
        }
        for n, interface in enumerate(agent_interfaces(plan))
    ]
    return {"departments": departments, "users": users}


def generate(plan: Plan) -> Iterator[Traffic]:
    """The plan's rows, one day at a time."""
    load_taxonomy()  # the first load builds a tokenizer: once, before the loop
    ids = dataclasses.replace(plan.first_ids)
    agents = agent_interfaces(plan)
    for n in range(plan.days):
        day = plan.first_day + timedelta(days=n)
        rng = random.Random(f"{plan.seed}:{day.isoformat()}")
        yield _day(plan, day, rng, ids, agents)


def _day(plan: Plan, day: date, rng: random.Random, ids: Ids, agents: list[str]) -> Traffic:
    out = Traffic()
    cases = CaseMaker(rng, ids, plan.until, out)
    count = round(plan.calls_per_day * rng.uniform(0.9, 1.1))
    for joined in sorted(_arrivals(plan, day, rng, count)):
        call = _call(plan, day, rng, ids, joined, agents)
        if call is None:
            continue
        case_id = cases.for_call(call)
        call["case_id"] = case_id
        out.calls.append(call)
    return out


def _arrivals(plan: Plan, day: date, rng: random.Random, count: int) -> list[datetime]:
    hours = rng.choices(range(24), weights=HOURLY, k=count)
    midnight = datetime.combine(day, time(), plan.zone)
    return [
        (midnight + timedelta(hours=h, microseconds=rng.randrange(3_600_000_000))).astimezone(UTC)
        for h in hours
    ]


def _on_leader_desk(plan: Plan, local: datetime) -> bool:
    start, end = plan.leader_hours
    return local.weekday() == plan.leader_weekday and start <= local.hour < end


def _call(
    plan: Plan, day: date, rng: random.Random, ids: Ids, joined: datetime, agents: list[str]
) -> Row | None:
    if joined >= plan.until:
        return None
    local = joined.astimezone(plan.zone)
    leader_desk = _on_leader_desk(plan, local)
    row = _call_base(rng, ids, joined, day, leader_desk)
    if leader_desk and rng.random() < 0.3:
        return _answered(
            row, rng, joined, wait=rng.uniform(2, 15), agent=LEADER_INTERFACE, plan=plan
        )
    rang_out = 20.0 if leader_desk else 0.0  # the desk rang out first
    wait = rng.expovariate(1 / (11.0 if local.hour in PEAK_HOURS else 5.0)) + rang_out
    patience = rng.expovariate(1 / 90.0) + 1.0 + rang_out
    if wait > patience:
        return _abandoned(row, joined + timedelta(seconds=patience), patience, plan=plan)
    return _answered(row, rng, joined, wait=wait, agent=rng.choice(agents), plan=plan)


def _call_base(rng: random.Random, ids: Ids, joined: datetime, day: date, leader_desk: bool) -> Row:
    number = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    call_id = ids.take("calls")
    return {
        "id": call_id,
        "uniqueid": f"sim-{day:%Y%m%d}-{call_id}",
        "channel": f"PJSIP/trunk-{call_id:08x}",
        "caller_number": number,
        "started_at": joined - timedelta(seconds=rng.uniform(20, 90)),
        "stage": "queue",
        "via_fallback": rng.random() < 0.01,
        "queue": LEADER_QUEUE if leader_desk else AGENTS_QUEUE,
        "queue_joined_at": joined,
        "agent_called_at": None,
        "agent": None,
        "answered_at": None,
        "completed_at": None,
        "complete_reason": None,
        "abandoned_at": None,
        "ended_at": None,
        "wait_seconds": None,
        "talk_seconds": None,
        "outcome": "in_progress",
        "hangup_cause": None,
        "needs_callback": False,
        "case_id": None,
        "leader_handled": leader_desk,  # popped before insert: read by the case maker
    }


def _answered(
    row: Row, rng: random.Random, joined: datetime, *, wait: float, agent: str, plan: Plan
) -> Row:
    answered = joined + timedelta(seconds=wait)
    if answered >= plan.until:
        return row  # still waiting when the world stops
    talk = min(3600.0, rng.lognormvariate(5.3, 0.6))
    ended = answered + timedelta(seconds=talk)
    lost_connect = rng.random() < 0.005  # AgentConnect never arrived: completed_at stands in
    row |= {
        "agent_called_at": answered - timedelta(seconds=min(wait, 3.0)),
        "agent": agent,
        "answered_at": None if lost_connect else answered,
        "stage": "agent",
        "outcome": "answered",
        "leader_handled": row["leader_handled"] and agent == LEADER_INTERFACE,
    }
    # Asterisk reports whole seconds of hold time; a few calls have none (timestamps then)
    if not lost_connect and rng.random() > 0.01:
        row["wait_seconds"] = float(int(wait))
    if ended < plan.until and rng.random() > 0.002:  # a few ends are never recorded
        row |= {"completed_at": ended, "ended_at": ended, "talk_seconds": float(int(talk))}
        row |= {"complete_reason": rng.choice(("caller", "agent")), "stage": "ended"}
        row["hangup_cause"] = "16"
    elif lost_connect:
        row["outcome"] = "in_progress"  # neither answered nor ended: a stale call
    return row


def _abandoned(row: Row, gone: datetime, patience: float, *, plan: Plan) -> Row:
    if gone >= plan.until:
        return row
    row |= {"abandoned_at": gone, "ended_at": gone, "stage": "ended", "outcome": "abandoned"}
    row |= {"wait_seconds": float(int(patience)), "needs_callback": True, "hangup_cause": "16"}
    row["leader_handled"] = False
    return row
