"""The schedule's values: leaders, their shifts, and who is on duty."""

from __future__ import annotations

import dataclasses
from datetime import datetime

# The id of a shift that is not saved yet (a rotation proposal, a row of an imported file).
UNSAVED = 0


@dataclasses.dataclass(frozen=True)
class Leader:
    """A city leader who takes hotline calls on duty days.

    `endpoints` are Asterisk dial strings (`PJSIP/8001`, `PJSIP/13800000000@trunk`): the
    leader's desk may hold several (the leader and assisting agents).
    """

    id: int
    name: str
    title: str
    endpoints: tuple[str, ...]
    active: bool


@dataclasses.dataclass(frozen=True)
class Shift:
    """A leader's duty, the half-open interval [starts_at, ends_at), timezone-aware."""

    id: int
    leader_id: int
    starts_at: datetime
    ends_at: datetime
    note: str = ""

    def covers(self, at: datetime) -> bool:
        """Whether `at` falls in the shift (its start included, its end not)."""
        return self.starts_at <= at < self.ends_at

    def overlaps(self, other: Shift) -> bool:
        """Whether the two shifts share an instant (touching ends do not)."""
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


@dataclasses.dataclass(frozen=True)
class Duty:
    """The shift on at some instant and the leader whose desk takes the calls."""

    shift: Shift
    leader: Leader
