"""Hot-topic detection on generated call histories (ivr.sim.case_stream), in memory.

Three weeks of ordinary traffic make the usual level; the day under test is replayed every
five minutes as the job would run. A salt rush worded many ways is found within the window
with its own cases, noise at one place raises a place alert, three callers about one
streetlight a repeat (two do not), a sensitive word an alert at the first run after its
call; the same day without injections raises no surge at all.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pytest

from ivr.db.insight_models import AlertKind
from ivr.hotspots.detector import Detector
from ivr.hotspots.model import CaseDoc, HotspotPolicy
from ivr.hotspots.replay import Episodes, replay
from ivr.hotspots.signature import Analyzer
from ivr.sim.case_stream import NOISE_ROUTES, ZONE, CaseStream, days, merged
from ivr.sim.case_texts import NOISE, SALT, issue

POLICY = HotspotPolicy(baseline_days=21)
FIRST = date(2031, 3, 3)  # a Monday
TEST_DAY = FIRST + timedelta(days=21)
MIDNIGHT = datetime(TEST_DAY.year, TEST_DAY.month, TEST_DAY.day, tzinfo=ZONE)
STEP = timedelta(minutes=5)
PER_DAY = 250


@functools.cache
def analyzer() -> Analyzer:
    """One analyzer for the module (jieba's dictionary loads once)."""
    return Analyzer()


@functools.cache
def history() -> tuple[CaseDoc, ...]:
    """Three weeks of ordinary traffic before the day under test."""
    stream = CaseStream(per_day=PER_DAY, seed=2031)
    return tuple(case for day in days(FIRST, 21) for case in stream.day(day))


def city() -> tuple[Detector, CaseStream]:
    """A detector that knows the three weeks, and a stream that goes on from them."""
    detector = Detector(POLICY, analyzer())
    detector.remember(history())
    stream = CaseStream(per_day=PER_DAY, seed=2031, next_id=history()[-1].id + 1)
    return detector, stream


def day_of(cases: Sequence[CaseDoc], words: Sequence[str] = ()) -> Episodes:
    """Replay the day under test through a detector that knows the history."""
    detector, _ = city()
    return replay(detector, cases, MIDNIGHT, MIDNIGHT + timedelta(days=1), STEP, words=words)


def kinds(episodes: Episodes) -> list[AlertKind]:
    """The kinds of the alerts raised."""
    return [episode.first.kind for episode in episodes.raised]


def test_an_ordinary_day_raises_no_surge() -> None:
    _, stream = city()
    episodes = day_of(stream.day(TEST_DAY))
    surges = [e.first.title for e in episodes.raised if e.first.kind != AlertKind.REPEAT]
    assert surges == []


def test_a_salt_rush_worded_many_ways_is_found_within_the_window() -> None:
    _, stream = city()
    start = MIDNIGHT + timedelta(hours=9)
    rush = stream.inject(SALT, start, 60, timedelta(hours=2))
    ordinary = stream.day(TEST_DAY)
    assert len({case.summary for case in rush}) >= 5, "worded many ways"
    episodes = day_of(merged(ordinary, rush))
    surges = [e for e in episodes.raised if e.first.kind == AlertKind.SURGE]
    assert len(surges) == 1, [e.first.title for e in surges]
    alert = surges[0]
    assert start < alert.raised_at <= start + POLICY.window
    assert "食盐" in alert.first.title
    rushed = {case.id for case in rush}
    assert alert.case_ids <= rushed, "only the rush's cases"
    assert len(alert.case_ids) >= 0.9 * len(rushed)
    assert alert.first.baseline is not None and alert.first.baseline < 1


def test_noise_at_one_place_raises_a_place_alert() -> None:
    _, stream = city()
    start = MIDNIGHT + timedelta(hours=19)
    noise = stream.inject(
        NOISE, start, 15, timedelta(hours=2), place="丽景小区", routes=NOISE_ROUTES
    )
    episodes = day_of(merged(stream.day(TEST_DAY), noise))
    places = [e for e in episodes.raised if e.first.kind == AlertKind.PLACE]
    assert [e.first.key for e in places] == ["丽景小区"]
    assert start < places[0].raised_at <= start + POLICY.window
    assert places[0].case_ids <= {case.id for case in noise} | set(places[0].case_ids)
    assert len(places[0].case_ids & {case.id for case in noise}) >= 10
    departments = {name for name, _ in places[0].first.details["departments"]}
    assert len(departments) > 1, "noise has no one department"


@pytest.mark.parametrize("callers", [2, 3])
def test_three_callers_about_one_streetlight_make_a_repeat_two_do_not(callers: int) -> None:
    detector, stream = city()
    lights = stream.inject(
        issue("streetlight"),
        MIDNIGHT + timedelta(hours=8),
        callers,
        timedelta(hours=6),
        place="青年路",
        number=88,
        seed="light",
    )
    episodes = replay(detector, lights, MIDNIGHT, MIDNIGHT + timedelta(hours=16), STEP)
    repeats = [e for e in episodes.raised if e.first.kind == AlertKind.REPEAT]
    if callers < POLICY.repeat_callers:
        assert repeats == []
        return
    assert len(repeats) == 1
    assert repeats[0].case_ids == {case.id for case in lights}
    assert repeats[0].raised_at - lights[-1].created_at <= STEP
    assert "青年路88号" in repeats[0].first.title


def test_one_caller_ringing_three_times_is_no_repeat() -> None:
    detector, stream = city()
    lights = stream.inject(
        issue("streetlight"),
        MIDNIGHT + timedelta(hours=8),
        3,
        timedelta(hours=3),
        place="青年路",
        number=88,
        seed="light",
    )
    same = [dataclasses.replace(case, caller="13900000000") for case in lights]
    episodes = replay(detector, same, MIDNIGHT, MIDNIGHT + timedelta(hours=12), STEP)
    assert kinds(episodes) == []


def test_a_sensitive_word_raises_an_alert_at_the_next_run() -> None:
    detector, stream = city()
    case = stream.inject(issue("wages"), MIDNIGHT + timedelta(hours=10, minutes=1), 1, STEP)[0]
    said = dataclasses.replace(case, transcript=case.transcript + "，不解决我们就集体 上访")
    ten = MIDNIGHT + timedelta(hours=10)
    episodes = replay(
        detector, [said], ten, ten + timedelta(hours=1), STEP, words=["集体上访", "跳楼"]
    )
    assert kinds(episodes) == [AlertKind.SENSITIVE]
    alert = episodes.raised[0]
    assert alert.first.key == "集体上访" and alert.case_ids == {said.id}
    assert timedelta(0) <= alert.raised_at - said.created_at <= STEP, "the first run after it"
