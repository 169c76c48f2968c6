"""Who may do what from where: the transition rules, with their reasons, on a fake clock."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.db.models import CaseStatus, Role
from ivr.workflow.transitions import (
    RULES,
    Action,
    ActionRefused,
    Desk,
    Party,
    RefusalKind,
    Situation,
    allowed_actions,
    follow_up_status,
    refusal,
    require,
    status_after,
)
from tests.test_workflow_calendar import bj

S = CaseStatus
NOW = bj("2031-03-04", 10)
LEAD = Desk(
    lead=True,
    accepted=False,
    returned=False,
    return_until=NOW + timedelta(days=1),
    reply_due=NOW + timedelta(days=5),
    extension_asked=False,
)
CO = dataclasses.replace(LEAD, lead=False)


def at(status: CaseStatus, desk: Desk | None = None, **facts: object) -> Situation:
    """A situation at NOW."""
    return Situation(status=status, now=NOW, desk=desk, **facts)  # type: ignore[arg-type]


def refused(action: Action, party: Party, situation: Situation) -> ActionRefused:
    """The refusal, which must exist."""
    found = refusal(action, party, situation)
    assert found is not None, f"{party} may {action} from {situation.status}"
    return found


def test_the_office_dispatches_registered_cases() -> None:
    assert allowed_actions(Party.OFFICE, at(S.REGISTERED)) == [
        Action.DISPATCH,
        Action.NOTE,
        Action.ARCHIVE,
        Action.MERGE,
    ]
    assert status_after(Action.DISPATCH, at(S.REGISTERED)) is S.DISPATCHED
    again = refused(Action.DISPATCH, Party.OFFICE, at(S.DISPATCHED))
    assert again.kind is RefusalKind.CONFLICT
    assert "待签收" in str(again)


def test_agents_dispatch_only_when_the_settings_allow() -> None:
    no = refused(Action.DISPATCH, Party.AGENT, at(S.REGISTERED))
    assert no.kind is RefusalKind.FORBIDDEN
    assert "agents_may_dispatch" in str(no)
    assert refusal(Action.DISPATCH, Party.AGENT, at(S.REGISTERED, agents_may_dispatch=True)) is None
    assert allowed_actions(Party.AGENT, at(S.REGISTERED, agents_may_dispatch=True)) == [
        Action.DISPATCH
    ]
    assert refused(Action.ARCHIVE, Party.AGENT, at(S.REGISTERED)).kind is RefusalKind.FORBIDDEN


def test_a_lead_department_accepts_or_returns_then_works() -> None:
    waiting = at(S.DISPATCHED, LEAD)
    assert allowed_actions(Party.DEPARTMENT, waiting) == [Action.ACCEPT, Action.RETURN]
    assert status_after(Action.ACCEPT, waiting) is S.HANDLING
    accepted = dataclasses.replace(LEAD, accepted=True)
    assert allowed_actions(Party.DEPARTMENT, at(S.HANDLING, accepted)) == [
        Action.RETURN,
        Action.REQUEST_EXTENSION,
        Action.NOTE,
        Action.REPLY,
    ]
    assert "已签收" in str(refused(Action.ACCEPT, Party.DEPARTMENT, at(S.HANDLING, accepted)))
    assert "待签收" in str(refused(Action.REPLY, Party.DEPARTMENT, at(S.DISPATCHED, LEAD)))
    assert "请先签收" in str(refused(Action.NOTE, Party.DEPARTMENT, at(S.DISPATCHED, LEAD)))


def test_co_handlers_accept_and_write_notes_only() -> None:
    assert allowed_actions(Party.DEPARTMENT, at(S.HANDLING, CO)) == [Action.ACCEPT]
    assert status_after(Action.ACCEPT, at(S.HANDLING, CO)) is S.HANDLING
    working = dataclasses.replace(CO, accepted=True)
    assert allowed_actions(Party.DEPARTMENT, at(S.HANDLING, working)) == [Action.NOTE]
    for action in (Action.RETURN, Action.REPLY, Action.REQUEST_EXTENSION):
        no = refused(action, Party.DEPARTMENT, at(S.HANDLING, working))
        assert no.kind is RefusalKind.FORBIDDEN
        assert "主办单位" in str(no)


def test_a_department_without_a_current_part_may_do_nothing() -> None:
    for action in Action:
        assert refusal(action, Party.DEPARTMENT, at(S.HANDLING)) is not None


def test_returns_close_after_the_window_and_happen_once() -> None:
    late = dataclasses.replace(LEAD, return_until=NOW - timedelta(minutes=1))
    no = refused(Action.RETURN, Party.DEPARTMENT, at(S.DISPATCHED, late))
    assert no.kind is RefusalKind.CONFLICT
    assert "退单时限" in str(no)
    assert "2031-03-04 09:59" in str(no)  # in Beijing time
    twice = dataclasses.replace(LEAD, returned=True)
    assert "不能再次退单" in str(refused(Action.RETURN, Party.DEPARTMENT, at(S.DISPATCHED, twice)))
    assert status_after(Action.RETURN, at(S.DISPATCHED, LEAD)) is S.RETURNED


def test_the_office_decides_a_return() -> None:
    returned = at(S.RETURNED)
    assert allowed_actions(Party.OFFICE, returned) == [
        Action.REDISPATCH,
        Action.REJECT_RETURN,
        Action.NOTE,
        Action.MERGE,  # a returned duplicate may be settled by merging it
    ]
    assert status_after(Action.REDISPATCH, returned) is S.DISPATCHED
    assert status_after(Action.REJECT_RETURN, returned) is S.DISPATCHED
    assert status_after(Action.REJECT_RETURN, at(S.RETURNED, lead_accepted=True)) is S.HANDLING


def test_one_extension_asked_before_the_deadline() -> None:
    working = dataclasses.replace(LEAD, accepted=True)
    assert refusal(Action.REQUEST_EXTENSION, Party.DEPARTMENT, at(S.HANDLING, working)) is None
    asked = dataclasses.replace(working, extension_asked=True)
    once = refused(Action.REQUEST_EXTENSION, Party.DEPARTMENT, at(S.HANDLING, asked))
    assert "只能申请一次延期" in str(once)
    pending = at(S.HANDLING, working, extension_pending=True)
    assert "待热线办审批" in str(refused(Action.REQUEST_EXTENSION, Party.DEPARTMENT, pending))
    overdue = dataclasses.replace(working, reply_due=NOW)
    late = refused(Action.REQUEST_EXTENSION, Party.DEPARTMENT, at(S.HANDLING, overdue))
    assert "已过办理时限" in str(late)


def test_the_office_decides_a_pending_extension_only() -> None:
    assert "没有待审批" in str(refused(Action.APPROVE_EXTENSION, Party.OFFICE, at(S.HANDLING)))
    pending = at(S.HANDLING, extension_pending=True)
    assert {Action.APPROVE_EXTENSION, Action.DENY_EXTENSION} <= set(
        allowed_actions(Party.OFFICE, pending)
    )
    no = refused(Action.APPROVE_EXTENSION, Party.DEPARTMENT, at(S.HANDLING, LEAD))
    assert no.kind is RefusalKind.FORBIDDEN


def test_follow_up_rework_and_archive() -> None:
    replied = at(S.REPLIED)
    assert allowed_actions(Party.SYSTEM, replied) == [Action.FOLLOW_UP, Action.REOPEN]
    assert allowed_actions(Party.OFFICE, replied) == [
        Action.NOTE,
        Action.FOLLOW_UP,
        Action.REOPEN,
        Action.ARCHIVE,
    ]
    assert allowed_actions(Party.SYSTEM, at(S.FOLLOWED_UP)) == [Action.REOPEN]
    assert status_after(Action.REOPEN, replied) is S.DISPATCHED
    assert status_after(Action.ARCHIVE, at(S.FOLLOWED_UP)) is S.ARCHIVED
    assert follow_up_status(citizen_content=True, overridden=False) is S.FOLLOWED_UP
    assert follow_up_status(citizen_content=False, overridden=False) is S.DISPATCHED
    assert follow_up_status(citizen_content=False, overridden=True) is S.FOLLOWED_UP
    no = refused(Action.FOLLOW_UP, Party.DEPARTMENT, at(S.REPLIED, LEAD))
    assert no.kind is RefusalKind.FORBIDDEN


def test_archived_cases_are_read_only_for_everyone() -> None:
    for party in Party:
        assert allowed_actions(party, at(S.ARCHIVED, LEAD)) == []
        with pytest.raises(ActionRefused, match="归档后只读") as raised:
            require(Action.NOTE, party, at(S.ARCHIVED, LEAD))
        assert raised.value.kind is RefusalKind.CONFLICT


def test_drafts_must_be_registered_first() -> None:
    assert "请先受理" in str(refused(Action.DISPATCH, Party.OFFICE, at(S.DRAFT)))


def test_console_roles_map_to_parties() -> None:
    assert [Party.of(role) for role in Role] == [
        Party.AGENT,
        Party.OFFICE,
        Party.DEPARTMENT,
        Party.LEADER,
    ]
    assert allowed_actions(Party.LEADER, at(S.REGISTERED)) == []


desks = st.none() | st.builds(
    Desk,
    lead=st.booleans(),
    accepted=st.booleans(),
    returned=st.booleans(),
    return_until=st.sampled_from([NOW - timedelta(hours=1), NOW + timedelta(hours=1)]),
    reply_due=st.sampled_from([NOW - timedelta(hours=1), NOW + timedelta(hours=1)]),
    extension_asked=st.booleans(),
)
situations = st.builds(
    Situation,
    status=st.sampled_from(CaseStatus),
    now=st.just(NOW),
    desk=desks,
    lead_accepted=st.booleans(),
    extension_pending=st.booleans(),
    agents_may_dispatch=st.booleans(),
)


@settings(max_examples=300)
@given(st.sampled_from(Action), st.sampled_from(Party), situations)
def test_every_allowed_move_is_in_the_table_and_moves_forward(
    action: Action, party: Party, situation: Situation
) -> None:
    found = refusal(action, party, situation)
    if found is None:
        assert situation.status in RULES[action][party]
        after = status_after(action, situation)
        assert after is not S.DRAFT
        # only a remark stays, and an undone merge goes back to be dispatched on its own
        assert after is not S.REGISTERED or action in (Action.NOTE, Action.UNMERGE)
        if party is Party.DEPARTMENT:
            assert situation.desk is not None
    else:
        assert str(found)  # always says why
        assert (found.kind is RefusalKind.FORBIDDEN) == (
            party not in RULES[action]
            or (party is Party.AGENT and not situation.agents_may_dispatch)
            or (
                situation.desk is not None
                and not situation.desk.lead
                and action in (Action.RETURN, Action.REPLY, Action.REQUEST_EXTENSION)
                and situation.status in RULES[action].get(party, ())
            )
        ) or situation.status in (S.ARCHIVED, S.DRAFT)
