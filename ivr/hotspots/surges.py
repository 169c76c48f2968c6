"""Is a count well above its usual level? And the findings a surge makes.

The usual level of a topic or a place is its mean count in the same hours of each of the
previous days (ivr.hotspots.history): h cases over d days, so λ = h / d. A count k of
distinct callers in the recent window is a surge when all three hold:

- k ≥ the minimum (a quiet topic going from 0 to 2 is no surge);
- k ≥ `surge_ratio` × λ, λ taken as at least `usual_floor` (well above, not just above:
  large topics are never exactly Poisson);
- the chance of k or more is at most `p_value` if the window had the same Poisson rate
  as the past days. The test is the exact conditional one for two Poisson counts: given
  k + h, k is Binomial(k + h, 1 / (d + 1)) under that hypothesis. Unlike a Poisson tail at
  the estimated λ it allows for the estimate itself being uncertain, which matters with a
  few days of history or a rare place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from scipy.stats import binom

from ivr.db.insight_models import AlertKind
from ivr.hotspots.model import Finding, HotspotPolicy, Signal

SHOWN = 5  # places, categories, departments listed in an alert's details


def tail(count: int, usual: float, days: int) -> float:
    """P(K ≥ count) for K ~ Binomial(count + usual × days, 1 / (days + 1))."""
    past = round(usual * days)
    return float(binom.sf(count - 1, count + past, 1 / (days + 1)))


def is_surge(count: int, usual: float, days: int, least: int, policy: HotspotPolicy) -> bool:
    """Whether `count` callers against a usual `usual` over `days` days is a surge."""
    if count < least or count < policy.surge_ratio * max(usual, policy.usual_floor):
        return False
    return tail(count, usual, days) <= policy.p_value


def callers(signals: Sequence[Signal]) -> int:
    """How many distinct callers made these cases."""
    return len({s.doc.caller for s in signals})


def topic_finding(
    matched: Sequence[Signal], words: list[str], usual: float, now: datetime, ctx: Context
) -> Finding:
    """The alert of a topic's surge."""
    count = callers(matched)
    label = "、".join(words)
    title = f"{label}（{ctx.hours}内{count}位来电人，常态约{usual:.1f}）"
    return _finding(AlertKind.SURGE, label, title, matched, usual, now, ctx, {"words": words})


def place_finding(
    matched: Sequence[Signal],
    place: str,
    words: list[str],
    usual: float,
    now: datetime,
    ctx: Context,
) -> Finding:
    """The alert of a place's surge."""
    count = callers(matched)
    title = f"{place}（{ctx.hours}内{count}位来电人，常态约{usual:.1f}）"
    extra = {"place": place, "words": words}
    return _finding(AlertKind.PLACE, place, title, matched, usual, now, ctx, extra)


class Context:
    """What every surge finding of a run shares: the window, the days of history."""

    def __init__(self, policy: HotspotPolicy, days: int) -> None:
        self.policy = policy
        self.days = days
        hours = policy.window / timedelta(hours=1)
        self.hours = f"{hours:g}小时"


def _finding(
    kind: AlertKind,
    key: str,
    title: str,
    matched: Sequence[Signal],
    usual: float,
    now: datetime,
    ctx: Context,
    extra: dict[str, Any],
) -> Finding:
    ordered = sorted(matched, key=lambda s: (s.doc.created_at, s.doc.id))
    count = callers(ordered)
    floor = max(usual, ctx.policy.usual_floor)
    details = extra | {
        "callers": count,
        "usual": round(usual, 2),
        "ratio": round(count / floor, 1),
        "p_value": tail(count, usual, ctx.days),
        "window_minutes": int(ctx.policy.window.total_seconds() // 60),
        "history_days": ctx.days,
        "places": _top(name for s in ordered for name in {p.name for p in s.places}),
        "categories": _top(s.doc.category for s in ordered),
        "departments": _top(s.doc.department or "（未指定）" for s in ordered),
    }
    return Finding(
        kind=kind,
        key=key[:200],
        title=title[:200],
        window_start=ordered[0].doc.created_at,
        window_end=now,
        case_ids=tuple(s.doc.id for s in ordered),
        callers=count,
        baseline=round(usual, 3),
        details=details,
        continues_after=ordered[0].doc.created_at - ctx.policy.window,
    )


def _top(values: Any) -> list[list[Any]]:
    return [[value, n] for value, n in Counter(values).most_common(SHOWN)]
