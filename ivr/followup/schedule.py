"""When the automatic follow-up call (回访) of a replied case is due. Pure: times are passed in.

The first call is placed `delay_days` after the reply (the day after, by default), from
the start of the calling hours; an unanswered call (or a survey the citizen broke off) is
tried again `retry` later; citizens are called only within the calling hours, local time
("09:00-20:00" by default: nobody is rung at night). After `max_attempts` calls in one
round (a reply and what follows it) the case waits on the manual list for an agent.
A reworked case replied again starts a new round.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.errors import ConfigError
from ivr.settings import Settings
from ivr.workflow.rules import WorkflowRules

HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclasses.dataclass(frozen=True)
class CallingPolicy:
    """When and how often the system calls citizens back."""

    zone: ZoneInfo
    delay_days: int = 1
    opens: time = time(9)
    closes: time = time(20)
    retry: timedelta = timedelta(minutes=120)
    max_attempts: int = 3

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ConfigError("follow-up calling hours must open before they close")
        if self.delay_days < 0 or self.max_attempts < 1 or self.retry <= timedelta(0):
            raise ConfigError(
                "follow-up calls need a delay of 0 days or more, at least one attempt "
                "and a positive retry interval"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> CallingPolicy:
        """The policy the followup_* settings describe (ConfigError naming a bad one)."""
        opens, closes = calling_hours(settings.followup_calling_hours)
        return cls(
            zone=WorkflowRules.from_settings(settings).zone,
            delay_days=settings.followup_delay_days,
            opens=opens,
            closes=closes,
            retry=timedelta(minutes=settings.followup_retry_minutes),
            max_attempts=settings.followup_max_attempts,
        )

    def within_hours(self, at: datetime) -> datetime:
        """`at`, or the next moment the calling hours are open."""
        local = at.astimezone(self.zone)
        if local.time() < self.opens:
            return self.opening(local.date(), 0)
        if local.time() >= self.closes:
            return self.opening(local.date(), 1)
        return at

    def opening(self, day: date, days_later: int = 0) -> datetime:
        """When the calling hours open `days_later` days after `day`."""
        return datetime.combine(day + timedelta(days=days_later), self.opens, tzinfo=self.zone)


def calling_hours(text: str) -> tuple[time, time]:
    """ "09:00-20:00" → (09:00, 20:00); a ConfigError for anything else."""
    found = HOURS.fullmatch(text.strip())
    try:
        if found is None:
            raise ValueError(text)
        h1, m1, h2, m2 = (int(part) for part in found.groups())
        return time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ConfigError(
            f"setting followup_calling_hours: {text!r} is not like 09:00-20:00"
        ) from exc


@dataclasses.dataclass(frozen=True)
class PendingFollowUp:
    """A replied case waiting for its follow-up, with this round's calls so far."""

    case_id: int
    replied_at: datetime
    attempts: int = 0
    last_attempt_at: datetime | None = None
    diallable: bool = True
    unanswered: int = 0  # of the attempts, those nobody answered or left unfinished


def next_call_at(item: PendingFollowUp, policy: CallingPolicy) -> datetime | None:
    """When the next call is due; None once it is an agent's to make by hand."""
    if item.attempts >= policy.max_attempts or not item.diallable:
        return None
    if item.attempts == 0 or item.last_attempt_at is None:
        replied_on = item.replied_at.astimezone(policy.zone).date()
        return policy.within_hours(policy.opening(replied_on, policy.delay_days))
    return policy.within_hours(item.last_attempt_at + policy.retry)


def due_now(
    items: Iterable[PendingFollowUp], now: datetime, policy: CallingPolicy
) -> list[PendingFollowUp]:
    """The cases to call at `now` (inside the calling hours), longest waiting first."""
    if policy.within_hours(now) != now:
        return []
    timed = [(next_call_at(item, policy), item) for item in items]
    ready = [(at, item) for at, item in timed if at is not None and at <= now]
    return [item for _, item in sorted(ready, key=lambda pair: (pair[0], pair[1].case_id))]
