"""催办 and 督办: which reminders the open assignments call for at a given time.

Each step a department still owes (签收 by `accept_due`; 回复 by `reply_due`, the lead's
only: co-handlers contribute notes, not the reply) raises, at most once per deadline:

    soon         催办 ahead of the deadline: `reply_soon_working_minutes` (1 working day)
                 before a reply, `accept_soon_working_minutes` (2 working hours) before
                 an ordinary acceptance, `soon_minutes` (10) before a calendar-minute one
                 (急阅件, utilities); never at or before the dispatch itself (the dispatch
                 is the notice), never once the deadline has passed, and not for a reply
                 while the department's extension request waits for the office
    overdue      催办 at the deadline: the step is late
    supervision  督办: on the office's supervision list, `supervise_after_working_minutes`
                 (0) after the deadline; off it again once the step is done or the
                 deadline moves (an approved extension)
    notice       通报: still not done `notice_after_working_days` (3) working days late

A reminder's key (case, assignment, kind, deadline) is what makes it "once": storing it
twice is refused by the database. A new deadline (an extension, a new round) is a new
key. Pure: the caller passes the assignments, the time and the office's calendar.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta

from ivr.db.models import CaseEventKind
from ivr.errors import ConfigError
from ivr.workflow.calendar import MAX_SEARCH_DAYS, WorkCalendar
from ivr.workflow.deadlines import DeadlinePolicy, is_overdue, policy_from_mapping


class Step(enum.StrEnum):
    """What the department owes: 签收 or 回复."""

    ACCEPT = "accept"
    REPLY = "reply"


class Level(enum.StrEnum):
    """How far the urging has gone, in order."""

    SOON = "soon"  # 催办: due soon
    OVERDUE = "overdue"  # 催办: late
    SUPERVISION = "supervision"  # 督办
    NOTICE = "notice"  # 通报


STEP_LABELS = {Step.ACCEPT: "签收", Step.REPLY: "回复"}
LEVEL_LABELS = {
    Level.SOON: "即将到期",
    Level.OVERDUE: "已超期",
    Level.SUPERVISION: "督办",
    Level.NOTICE: "通报",
}
EVENT_KINDS = {
    Level.SOON: CaseEventKind.URGED,
    Level.OVERDUE: CaseEventKind.URGED,
    Level.SUPERVISION: CaseEventKind.SUPERVISED,
    Level.NOTICE: CaseEventKind.NOTICED,
}
# What a case's audit trail calls these entries (ivr.web.workflow_json shows them).
EVENT_LABELS = {
    CaseEventKind.URGED: "催办",
    CaseEventKind.SUPERVISED: "督办",
    CaseEventKind.NOTICED: "通报",
    CaseEventKind.REMINDER_ACKNOWLEDGED: "催办已阅",
}


@dataclasses.dataclass(frozen=True)
class UrgingPolicy:
    """When reminders fall due; minutes are working minutes unless said otherwise."""

    accept_soon_working_minutes: int = 120
    reply_soon_working_minutes: int = 420  # one working day of the default hours
    soon_minutes: int = 10  # calendar minutes, before a calendar-minute deadline
    supervise_after_working_minutes: int = 0
    notice_after_working_days: int = 3

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            least = 1 if field.name == "notice_after_working_days" else 0
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(f"urging {field.name}: {value!r} is not a whole number ≥ {least}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> UrgingPolicy:
        """A policy from a settings table (unknown names and bad values are ConfigErrors)."""
        return policy_from_mapping(cls(), raw, "urging")


@dataclasses.dataclass(frozen=True)
class OpenAssignment:
    """A department's current part in a case being worked on, as urging needs it."""

    case_id: int
    assignment_id: int
    department: str
    lead: bool
    dispatched_at: datetime
    accept_due: datetime
    accept_in_minutes: bool  # a calendar-minute deadline (see `accept_counts_minutes`)
    accepted: bool
    reply_due: datetime
    replied: bool
    extension_pending: bool = False

    def owes(self, step: Step) -> bool:
        """Whether the step is still to be done by this department."""
        if step is Step.ACCEPT:
            return not self.accepted
        return self.lead and not self.replied

    def deadline(self, step: Step) -> datetime:
        """The step's deadline."""
        return self.accept_due if step is Step.ACCEPT else self.reply_due


@dataclasses.dataclass(frozen=True)
class Reminder:
    """A reminder that has fallen due: about which step, of whom, since when."""

    case_id: int
    assignment_id: int
    department: str
    step: Step
    level: Level
    deadline: datetime
    due_at: datetime

    @property
    def kind(self) -> str:
        """`step_level`, e.g. accept_overdue."""
        return kind_of(self.step, self.level)

    @property
    def key(self) -> str:
        """What makes it once: case, assignment, kind and deadline (in UTC)."""
        deadline = self.deadline.astimezone(UTC).isoformat()
        return f"{self.case_id}/{self.assignment_id}/{self.kind}/{deadline}"


def kind_of(step: Step, level: Level) -> str:
    """A reminder kind as stored: `step_level`."""
    return f"{step.value}_{level.value}"


def parse_kind(kind: str) -> tuple[Step, Level]:
    """The step and level of a stored kind; ValueError when it is not one."""
    step, _, level = kind.partition("_")
    return Step(step), Level(level)


def accept_counts_minutes(policy: DeadlinePolicy, *, priority: str, category: str) -> bool:
    """Whether the acceptance deadline is in calendar minutes (as `accept_due` set it)."""
    return priority in policy.urgent_priorities or category in policy.utility_categories


def due_reminders(
    assignments: Iterable[OpenAssignment],
    now: datetime,
    calendar: WorkCalendar,
    policy: UrgingPolicy,
) -> list[Reminder]:
    """Every reminder due at `now` (raised or not: the store keeps each key once)."""
    return [
        reminder
        for item in assignments
        for step in Step
        if item.owes(step)
        for reminder in _step_reminders(item, step, now, calendar, policy)
    ]


def _step_reminders(
    item: OpenAssignment, step: Step, now: datetime, calendar: WorkCalendar, policy: UrgingPolicy
) -> Iterator[Reminder]:
    deadline = item.deadline(step)

    def reminder(level: Level, due_at: datetime) -> Reminder:
        return Reminder(
            item.case_id, item.assignment_id, item.department, step, level, deadline, due_at
        )

    if not is_overdue(deadline, now):
        soon = soon_at(item, step, calendar, policy)
        if soon is not None and now >= soon:
            yield reminder(Level.SOON, soon)
        return
    yield reminder(Level.OVERDUE, deadline)
    supervise = calendar.add_working_minutes(deadline, policy.supervise_after_working_minutes)
    if now >= supervise:
        yield reminder(Level.SUPERVISION, supervise)
    notice = calendar.add_working_days(deadline, policy.notice_after_working_days)
    if now >= notice:
        yield reminder(Level.NOTICE, notice)


def soon_at(
    item: OpenAssignment, step: Step, calendar: WorkCalendar, policy: UrgingPolicy
) -> datetime | None:
    """When the step's "due soon" reminder falls due; None when it has none."""
    deadline = item.deadline(step)
    if step is Step.REPLY and item.extension_pending:
        return None  # the department has asked for time: the office decides, not a reminder
    if step is Step.ACCEPT and item.accept_in_minutes:
        at = deadline - timedelta(minutes=policy.soon_minutes)
    else:
        lead = policy.accept_soon_working_minutes
        if step is Step.REPLY:
            lead = policy.reply_soon_working_minutes
        at = working_minutes_before(calendar, deadline, lead)
    if at == deadline or at <= item.dispatched_at:
        return None
    return at


def working_minutes_before(calendar: WorkCalendar, at: datetime, minutes: int) -> datetime:
    """The latest instant from which `minutes` of working time pass until `at`."""
    if minutes < 0:
        raise ValueError(f"cannot count {minutes} working minutes back")
    left = timedelta(minutes=minutes)
    if not left:
        return at
    end_at = at.astimezone(UTC)
    day = end_at.astimezone(calendar.zone).date()
    for _ in range(MAX_SEARCH_DAYS):
        for begin, end in reversed(calendar.periods_on(day)):
            end = min(end, end_at)
            if end <= begin:
                continue
            if left <= end - begin:
                return (end - left).astimezone(at.tzinfo)
            left -= end - begin
        day -= timedelta(days=1)
    raise ConfigError(f"no working day in the {MAX_SEARCH_DAYS} days before {at:%Y-%m-%d}")


def outstanding(step: Step, deadline: datetime, item: OpenAssignment | None) -> bool:
    """Whether a reminder still stands: the step undone, its deadline the same."""
    if item is None:  # the part was withdrawn, or the case is no longer being worked on
        return False
    return item.owes(step) and item.deadline(step) == deadline


def overdue_working_minutes(calendar: WorkCalendar, deadline: datetime, now: datetime) -> int:
    """How many working minutes late a step is at `now` (0 when it is not late)."""
    late = calendar.working_time_between(deadline, now)
    return max(0, int(late.total_seconds() // 60))
