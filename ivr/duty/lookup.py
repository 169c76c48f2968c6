"""Who is on duty at an instant: a pure function of the schedule and the time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from ivr.duty.model import Duty, Leader, Shift


def duty_at(shifts: Iterable[Shift], leaders: Mapping[int, Leader], at: datetime) -> Duty | None:
    """The shift covering `at` whose leader is active and reachable; None when there is none.

    `at` must be timezone-aware: a naive time could be anyone's wall clock (ValueError).
    Shifts are half-open, so a shift ending at 12:00 is over at 12:00 sharp. Validation
    keeps shifts from overlapping; should two ever cover `at`, the one that started last
    (then the lowest id) wins, so the answer never depends on the order shifts were read.
    """
    if at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass a timezone-aware one")
    candidates = [
        Duty(shift, leader)
        for shift in shifts
        if shift.covers(at)
        and (leader := leaders.get(shift.leader_id)) is not None
        and leader.active
        and leader.endpoints
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda duty: (duty.shift.starts_at, -duty.shift.id))
