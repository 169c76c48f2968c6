"""Importing a schedule file: what it replaces, judged whole (all rows or nothing).

An import speaks for the months its shifts fall in (local time): the future shifts already
in those months are replaced by the file's. Past and running shifts are history and stay;
a row repeating one of them exactly is accepted and changes nothing, any other row in the
past is refused. Every bad row is reported, each with its label ("row 3: ...").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo

from ivr.duty.model import Leader, Shift
from ivr.duty.validate import labelled_problems, span
from ivr.errors import ImportRejected, LeaderUnavailable


@dataclasses.dataclass(frozen=True)
class ImportedShift:
    """A shift read from a file, and where it was read (`row 3`, `event 2`)."""

    label: str
    shift: Shift


@dataclasses.dataclass(frozen=True)
class ImportPlan:
    """What an accepted import does: shifts to delete, shifts to add, rows already there."""

    remove: tuple[Shift, ...]
    add: tuple[Shift, ...]
    unchanged: int


def leader_named(name: str, leaders: Mapping[str, Leader]) -> Leader:
    """The leader a file names (exactly, spaces trimmed), or LeaderUnavailable."""
    wanted = name.strip()
    if not wanted:
        raise LeaderUnavailable("no leader is named")
    leader = leaders.get(wanted)
    if leader is None:
        raise LeaderUnavailable(f"unknown leader {wanted!r}: add them to the leaders first")
    return leader


def months_of(rows: Sequence[ImportedShift], zone: tzinfo) -> list[date]:
    """The months (their first days, local time) the file's shifts start in."""
    firsts = {row.shift.starts_at.astimezone(zone).date().replace(day=1) for row in rows}
    return sorted(firsts)


def plan_import(
    rows: Sequence[ImportedShift],
    existing: Sequence[Shift],
    leaders: Mapping[int, Leader],
    *,
    now: datetime,
    zone: tzinfo,
) -> ImportPlan:
    """The changes that make the file's months read as the file; ImportRejected if any row
    is bad. `existing` must hold every saved shift of those months (and may hold more)."""
    if not rows:
        raise ImportRejected(["the file holds no shifts"])
    months = set(months_of(rows, zone))
    in_scope = [s for s in existing if _month(s, zone) in months and s.starts_at >= now]
    kept = [s for s in existing if s not in in_scope]
    history = {(s.leader_id, s.starts_at, s.ends_at) for s in kept if s.starts_at < now}
    problems: list[str] = []
    fresh: list[tuple[str, Shift]] = []
    unchanged = 0
    for row in rows:
        shift = row.shift
        if shift.starts_at >= now:
            fresh.append((row.label, shift))
        elif (shift.leader_id, shift.starts_at, shift.ends_at) in history:
            unchanged += 1
        else:
            problems.append(
                f"{row.label}: the shift {span(shift, zone)} is in the past and is not in the "
                "schedule: past shifts cannot be added or changed"
            )
    problems += labelled_problems(fresh, kept, leaders, now=now, zone=zone)
    if problems:
        raise ImportRejected(sorted(problems, key=_row_order))
    return ImportPlan(tuple(in_scope), tuple(s for _, s in fresh), unchanged)


def _month(shift: Shift, zone: tzinfo) -> date:
    return shift.starts_at.astimezone(zone).date().replace(day=1)


def _row_order(problem: str) -> tuple[int, str]:
    # "row 12: ..." after "row 3: ...": by the number, not the text
    label = problem.split(":", 1)[0]
    number = label.rsplit(" ", 1)[-1]
    return (int(number) if number.isdigit() else 0, problem)
