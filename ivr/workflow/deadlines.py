"""Deadlines of a dispatched case: accept (签收), reply (回复), return (退单), extension (延期).

The defaults follow published 12345 practice: a department accepts an urgent case (急阅件,
life or property at risk) within 15 minutes and a water, power, gas or heating case within
30, anything else within 1 working day; it replies within 5 working days; it may ask once
for an extension of at most 10 working days; and it may send a case back within 2 working
days of the dispatch. Every figure is a field of `DeadlinePolicy`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from ivr.errors import ConfigError
from ivr.workflow.calendar import WorkCalendar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@dataclasses.dataclass(frozen=True)
class DeadlinePolicy:
    """How long a department has for each step; minutes are calendar minutes, days working."""

    urgent_accept_minutes: int = 15
    urgent_priorities: frozenset[str] = frozenset({"urgent"})
    utilities_accept_minutes: int = 30
    utility_categories: frozenset[str] = frozenset({"utilities"})
    accept_working_days: int = 1
    reply_working_days: int = 5
    rework_reply_working_days: int = 5
    max_extension_working_days: int = 10
    extensions_allowed: int = 1
    return_window_working_days: int = 2

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int) and not isinstance(value, bool) and value < 1:
                raise ConfigError(f"deadline {field.name}: {value} must be at least 1")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> DeadlinePolicy:
        """A policy from a settings table (unknown names and bad values are ConfigErrors)."""
        return policy_from_mapping(
            cls(), raw, "deadline", code_lists=("urgent_priorities", "utility_categories")
        )


P = TypeVar("P", bound="DataclassInstance")


def policy_from_mapping(
    default: P, raw: Mapping[str, object], what: str, code_lists: tuple[str, ...] = ()
) -> P:
    """`default` with the fields a settings table names replaced: whole numbers, or lists of
    codes for the `code_lists` fields; unknown names and bad values are ConfigErrors."""
    known = {f.name for f in dataclasses.fields(default)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown {what} settings: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name in code_lists:
            if not isinstance(value, list | tuple | frozenset | set):
                raise ConfigError(f"{what} {name}: expected a list of codes")
            values[name] = frozenset(str(code) for code in value)
        elif isinstance(value, int) and not isinstance(value, bool):
            values[name] = value
        else:
            raise ConfigError(f"{what} {name}: {value!r} is not a whole number")
    return dataclasses.replace(default, **values)


@dataclasses.dataclass(frozen=True)
class Deadlines:
    """The deadlines a dispatch sets: accept by, reply by, return no later than."""

    accept_due: datetime
    reply_due: datetime
    return_until: datetime


def accept_due(
    policy: DeadlinePolicy,
    calendar: WorkCalendar,
    *,
    dispatched_at: datetime,
    priority: str,
    category: str,
) -> datetime:
    """When the department must have accepted (签收) the case.

    Urgent and utility deadlines are calendar minutes, not working minutes: a gas leak
    reported at 23:00 on a Saturday cannot wait for Monday morning. The rest count in
    working days with the office's calendar.
    """
    minutes = []
    if priority in policy.urgent_priorities:
        minutes.append(policy.urgent_accept_minutes)
    if category in policy.utility_categories:
        minutes.append(policy.utilities_accept_minutes)
    if minutes:
        return dispatched_at + timedelta(minutes=min(minutes))
    return calendar.add_working_days(dispatched_at, policy.accept_working_days)


def deadlines_for(
    policy: DeadlinePolicy,
    calendar: WorkCalendar,
    *,
    dispatched_at: datetime,
    priority: str,
    category: str,
    rework: bool = False,
) -> Deadlines:
    """The deadlines of a dispatch (or of a rework: 重新办理 has its own reply time)."""
    days = policy.rework_reply_working_days if rework else policy.reply_working_days
    return Deadlines(
        accept_due=accept_due(
            policy, calendar, dispatched_at=dispatched_at, priority=priority, category=category
        ),
        reply_due=calendar.add_working_days(dispatched_at, days),
        return_until=calendar.add_working_days(dispatched_at, policy.return_window_working_days),
    )


def extended_due(calendar: WorkCalendar, reply_due: datetime, days: int) -> datetime:
    """The reply deadline after an approved extension of `days` working days."""
    return calendar.add_working_days(reply_due, days)


def is_overdue(due: datetime, now: datetime, *, done_at: datetime | None = None) -> bool:
    """Whether a step was (or is) late: done after its deadline, or not done and past it."""
    return (done_at if done_at is not None else now) > due
