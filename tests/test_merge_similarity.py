"""并单 suggestions, pure: realistic calls about one broken streetlight worded three ways are
suggested to each other; the same complaint on another street, another problem on the same
street, a door far along the street, reports, archived cases and drafts are not. The rules
deciding which case may join which (ivr.workflow.merge_rules, transitions) are here too.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from ivr.cases.places import Place, place_similarity, places_in
from ivr.cases.similarity import CaseText, suggest, wording_terms
from ivr.db.models import CaseStatus
from ivr.workflow.merge_rules import MergeSide, merge_refusal
from ivr.workflow.transitions import (
    Action,
    Party,
    RefusalKind,
    Situation,
    allowed_actions,
    refusal,
    status_after,
)
from tests.test_workflow_calendar import bj

S = CaseStatus
MONDAY = bj("2031-03-03", 10)
WEEK = timedelta(days=7)


def text(
    case_id: int, summary: str, transcript: str, address: str | None, **changes: Any
) -> CaseText:
    """A registered 城市管理 case, `case_id` hours after Monday 10:00."""
    base = CaseText(
        id=case_id,
        status=S.REGISTERED,
        category="urban",
        summary=summary,
        transcript=transcript,
        address=address,
        created_at=MONDAY + timedelta(hours=case_id),
    )
    return dataclasses.replace(base, **changes)


# Three callers, one broken streetlight at 人民路12号, three ways of saying it.
FIRST = text(
    1,
    "人民路12号路灯坏了",
    "你好，我要反映一下，人民路12号门口的路灯坏了，晚上黑漆漆的，走路不安全",
    "人民路12号",
)
SECOND = text(
    2,
    "人民路路灯不亮",
    "喂，人民路十二号那边的路灯好几天不亮了，麻烦派人修一下",
    "人民路十二号",
)
THIRD = text(
    3,
    "人民路上路灯晚上不亮",
    "我家楼下人民路上的路灯晚上一直不亮，老人小孩出门很危险",
    None,  # no address taken: placed by what the caller said
)
ELSEWHERE = text(4, "解放路路灯坏了", "解放路30号的路灯坏了，晚上不亮", "解放路30号")
SMOKE = text(
    5,
    "人民路12号饭店油烟扰民",
    "人民路12号有家饭店，油烟很大，晚上噪音扰民",
    "人民路12号",
    category="environment",
)
MANHOLE = text(6, "人民路12号井盖缺失", "人民路12号门口的井盖没了，很危险", "人民路12号")
FAR_DOOR = text(7, "人民路200号路灯不亮", "人民路200号的路灯不亮了", "人民路200号")
LAMP_POST = text(
    8, "人民路12号路灯杆歪了", "人民路12号那根路灯杆被车撞歪了，随时会倒", "人民路12号"
)
STREET = [FIRST, SECOND, THIRD, ELSEWHERE, SMOKE, MANHOLE, FAR_DOOR, LAMP_POST]


def ids(case: CaseText, others: list[CaseText] = STREET) -> list[int]:
    """The suggested cases' ids, best first."""
    return [s.case_id for s in suggest(case, others, window=WEEK)]


def test_three_callers_about_one_streetlight_are_suggested_to_each_other() -> None:
    for caller in (FIRST, SECOND, THIRD):
        found = ids(caller)
        others = {FIRST.id, SECOND.id, THIRD.id} - {caller.id}
        assert others <= set(found), (caller.summary, found)
    best = suggest(SECOND, STREET, window=WEEK)[0]
    assert best.case_id in (FIRST.id, THIRD.id)
    assert 0.45 <= best.score <= 1 and best.same_category
    assert "路灯" in best.shared_words and "故障" in best.shared_words  # 坏了 ≈ 不亮
    exact = next(s for s in suggest(SECOND, STREET, window=WEEK) if s.case_id == FIRST.id)
    assert exact.shared_place == "人民路12号" and exact.place == 1.0  # 十二号 is 12号


def test_the_same_problem_on_another_street_is_not_suggested() -> None:
    assert ELSEWHERE.id not in ids(FIRST)
    assert ids(ELSEWHERE) == []


def test_another_problem_on_the_same_street_is_not_suggested() -> None:
    for other in (SMOKE, MANHOLE, LAMP_POST):
        assert other.id not in ids(FIRST), other.summary
        assert FIRST.id not in ids(other), other.summary


def test_a_water_cut_in_one_building_told_two_ways() -> None:
    cut = text(10, "幸福小区3栋停水", "幸福小区3栋从早上开始停水了，也没有通知", "幸福小区3栋")
    dry = text(11, "幸福小区三栋没水", "我住幸福小区三栋，今天一天都没水，什么时候来水", None)
    lift = text(12, "幸福小区3栋电梯坏了", "幸福小区3栋的电梯坏了，老人上下楼很困难", "幸福小区3栋")
    found = suggest(dry, [cut, dry, lift], window=WEEK)
    assert [(s.case_id, s.shared_place) for s in found] == [(cut.id, "幸福小区3栋")]
    assert found[0].shared_words == ("停供",)  # 停水 and 没水 share no character


def test_a_door_far_along_the_street_is_another_place() -> None:
    assert FAR_DOOR.id not in ids(FIRST)
    # a caller who gave no number may be at either: suggested, the place less sure
    nearby = {s.case_id: s for s in suggest(THIRD, STREET, window=WEEK)}
    assert nearby[FAR_DOOR.id].place < 1


def test_ranked_by_score_and_limited() -> None:
    found = suggest(THIRD, STREET, window=WEEK)
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert len(suggest(THIRD, STREET, window=WEEK, limit=1)) == 1


def test_reports_archived_drafts_and_old_cases_are_never_suggested() -> None:
    reporter = dataclasses.replace(SECOND, whistleblower=True)
    assert SECOND.id not in ids(FIRST, [FIRST, reporter, THIRD])
    assert ids(reporter, [FIRST, reporter, THIRD]) == []  # nor suggested anything
    for status in (S.ARCHIVED, S.DRAFT):
        gone = dataclasses.replace(SECOND, status=status)
        assert SECOND.id not in ids(FIRST, [FIRST, gone])
        assert ids(gone, [FIRST, gone]) == []
    old = dataclasses.replace(SECOND, created_at=FIRST.created_at - timedelta(days=8))
    assert ids(FIRST, [FIRST, old]) == []
    later = dataclasses.replace(SECOND, created_at=FIRST.created_at + timedelta(days=6))
    assert ids(FIRST, [FIRST, later]) == [SECOND.id]  # still open and within the window


def test_a_merged_case_is_suggested_as_its_main_case() -> None:
    main = text(20, "人民路12号附近路灯故障", "路灯坏了没人修", "人民路12号", status=S.HANDLING)
    merged = dataclasses.replace(SECOND, status=S.MERGED, merged_into_id=main.id)
    found = suggest(FIRST, [FIRST, merged, main], window=WEEK)
    assert [(s.case_id, s.via) for s in found] == [(main.id, (SECOND.id,))]  # once
    alone = suggest(
        FIRST, [FIRST, merged, dataclasses.replace(main, transcript="", summary="")], window=WEEK
    )
    assert [(s.case_id, s.via) for s in alone] == [(main.id, (SECOND.id,))]  # by SECOND's words
    # an archived main case takes its merged cases out of the suggestions
    closed = dataclasses.replace(main, status=S.ARCHIVED)
    assert suggest(FIRST, [FIRST, merged, closed], window=WEEK) == []
    # a main case is never suggested its own merged cases
    assert ids(main, [main, merged, FIRST]) == [FIRST.id]
    assert suggest(merged, STREET, window=WEEK) == []  # merged: it has its main case


def test_wording_leaves_out_places_digits_and_filler() -> None:
    terms = wording_terms("你好，我要反映人民路12号的路灯坏了三天，电话13912345678")
    assert "路灯" in terms and "#故障" in terms
    assert not {"人民", "民路", "你好", "反映", "1", "三天", "三"} & set(terms)


@pytest.mark.parametrize(
    ("said", "place"),
    [
        ("人民路12号", Place("人民路", 12)),
        ("人民路十二号", Place("人民路", 12)),
        ("西湖区文三路一百零五号", Place("文三路", 105)),
        ("我家楼下人民路上的路灯", Place("人民路")),
        ("幸福小区三栋二单元", Place("幸福小区", 3)),
        ("人民路与解放路交叉口", Place("人民路")),
    ],
)
def test_places_read_from_addresses_and_speech(said: str, place: Place) -> None:
    assert places_in(said)[0] == place


def test_no_place_in_words_that_only_look_like_one() -> None:
    assert places_in("马路上的路灯坏了") == ()
    assert places_in("这条街的路灯不亮") == ()
    assert places_in(None) == ()


def test_place_similarity() -> None:
    same = place_similarity(places_in("人民路12号"), places_in("人民路十二号"))
    assert same == (1.0, Place("人民路", 12))
    assert place_similarity(places_in("人民路12号"), places_in("人民路14号"))[0] == 0.6
    assert place_similarity(places_in("人民路12号"), places_in("人民路200号"))[0] < 0.5
    assert place_similarity(places_in("人民路12号"), places_in("解放路12号")) == (0.0, None)


# --- who may merge what ------------------------------------------------------------------


def side(case_id: int, status: CaseStatus = S.HANDLING, **facts: Any) -> MergeSide:
    """One side of a merge."""
    base = MergeSide(case_id, f"12345-20310303-{case_id:06d}", status, False, None)
    return dataclasses.replace(base, **facts)


def test_the_office_merges_registered_or_working_cases_only() -> None:
    for status in (S.REGISTERED, S.DISPATCHED, S.HANDLING, S.RETURNED):
        situation = Situation(status=status, now=MONDAY)
        assert Action.MERGE in allowed_actions(Party.OFFICE, situation)
        assert status_after(Action.MERGE, situation) is S.MERGED
        for party in (Party.DEPARTMENT, Party.AGENT, Party.LEADER, Party.SYSTEM):
            found = refusal(Action.MERGE, party, situation)
            assert found is not None and found.kind is RefusalKind.FORBIDDEN
    for status in (S.DRAFT, S.REPLIED, S.FOLLOWED_UP, S.ARCHIVED, S.MERGED):
        found = refusal(Action.MERGE, Party.OFFICE, Situation(status=status, now=MONDAY))
        assert found is not None and found.kind is RefusalKind.CONFLICT
    merged = Situation(status=S.MERGED, now=MONDAY)
    assert allowed_actions(Party.OFFICE, merged) == [Action.NOTE, Action.UNMERGE]
    assert status_after(Action.UNMERGE, merged) is S.REGISTERED
    assert allowed_actions(Party.SYSTEM, merged) == []


@pytest.mark.parametrize(
    ("child", "main", "says"),
    [
        (side(1), side(1), "它自己"),
        (side(1, whistleblower=True), side(2), "举报件"),
        (side(1), side(2, whistleblower=True), "举报件"),
        (side(1), side(2, S.MERGED, merged_into_id=3), "已并入其他工单"),
        (side(1), side(2, S.REPLIED, merged_into_id=1), "已并入其他工单"),  # a cycle
        (side(1), side(2, S.DRAFT), "尚未受理"),
        (side(1), side(2, S.ARCHIVED), "已归档"),
    ],
)
def test_a_main_case_must_be_open_unmerged_and_no_report(
    child: MergeSide, main: MergeSide, says: str
) -> None:
    found = merge_refusal(child, main)
    assert found is not None and says in str(found)
    assert found.kind is RefusalKind.CONFLICT


def test_any_open_unmerged_case_may_be_a_main_case() -> None:
    for status in (S.REGISTERED, S.DISPATCHED, S.HANDLING, S.RETURNED, S.REPLIED, S.FOLLOWED_UP):
        assert merge_refusal(side(1), side(2, status)) is None
