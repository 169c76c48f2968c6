"""Who may do what to a case, from which status, and the status that follows.

    registered ─dispatch→ dispatched ─accept (lead)→ handling ─reply→ replied
                              │  ▲                      │  ▲            │ follow_up
                        return│  │reject_return   return│  │           ▼
                              ▼  │                      ▼  │        followed_up ─archive→ archived
                            returned ─redispatch→ dispatched
    replied / followed_up ─reopen (重新办理)→ dispatched, to the same department
    registered / dispatched / handling / returned ─merge (并单)→ merged ─unmerge→ registered
    draft ─answer (当场答复: a 咨询 answered from the knowledge base)→ archived, in one step

The office dispatches (agents too when the settings allow), decides returns and
extensions, records follow-ups, reopens and archives; a department accepts, returns,
asks for an extension, writes notes and replies on its own current assignment (returns,
extensions and the reply are the lead department's); the system (the follow-up call)
records follow-ups and reopens. The office merges duplicates (并单) into a main case and
may undo it while the merged case waits (ivr.workflow.merge_rules checks the main case).
Whoever takes the call (agent, duty leader, office) may answer a consultation at first
contact: the draft is registered and archived at once and never reaches a department
(`answer_refusal`). Archived cases are read-only. `refusal` is pure: the repository builds
the `Situation` from the database and asks.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from ivr.db.models import CaseStatus, Role
from ivr.errors import IvrError

S = CaseStatus
MESSAGE_ZONE = ZoneInfo("Asia/Shanghai")
STATUS_LABELS = {
    S.DRAFT: "待受理",
    S.REGISTERED: "待交办",
    S.DISPATCHED: "待签收",
    S.HANDLING: "办理中",
    S.RETURNED: "退单待审",
    S.REPLIED: "已回复待回访",
    S.FOLLOWED_UP: "已回访待归档",
    S.ARCHIVED: "已归档",
    S.MERGED: "已并单",
}


class Action(enum.StrEnum):
    """A move in the workflow."""

    DISPATCH = "dispatch"  # 交办
    ACCEPT = "accept"  # 签收
    RETURN = "return"  # 退单
    REDISPATCH = "redispatch"  # 同意退单并改派
    REJECT_RETURN = "reject_return"  # 驳回退单
    REQUEST_EXTENSION = "request_extension"  # 申请延期
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    NOTE = "note"  # 办理进展 / 督办备注
    REPLY = "reply"  # 回复
    FOLLOW_UP = "follow_up"  # 回访结果
    REOPEN = "reopen"  # 重新办理
    ARCHIVE = "archive"  # 归档
    MERGE = "merge"  # 并单: handled as part of another case from now on
    UNMERGE = "unmerge"  # 取消并单


ACTION_LABELS = {
    Action.DISPATCH: "交办",
    Action.ACCEPT: "签收",
    Action.RETURN: "退单",
    Action.REDISPATCH: "改派",
    Action.REJECT_RETURN: "驳回退单",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.APPROVE_EXTENSION: "批准延期",
    Action.DENY_EXTENSION: "驳回延期",
    Action.NOTE: "填写办理进展",
    Action.REPLY: "回复",
    Action.FOLLOW_UP: "登记回访结果",
    Action.REOPEN: "重新办理",
    Action.ARCHIVE: "归档",
    Action.MERGE: "并单",
    Action.UNMERGE: "取消并单",
}


class Party(enum.StrEnum):
    """Who acts: a console user's role, or the system itself (the follow-up call)."""

    OFFICE = "office"
    DEPARTMENT = "department"
    AGENT = "agent"
    LEADER = "leader"
    SYSTEM = "system"

    @classmethod
    def of(cls, role: Role) -> Party:
        """The party a console user acts as."""
        return cls(role.value)


class RefusalKind(enum.StrEnum):
    """Why an action is refused: not this party's to do, or not now."""

    FORBIDDEN = "forbidden"  # the party may never do this (HTTP 403)
    CONFLICT = "conflict"  # not in the case's present state, or too late (HTTP 409)


class ActionRefused(IvrError):
    """A workflow move that is not allowed; `kind` says whether ever or just not now."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclasses.dataclass(frozen=True)
class Desk:
    """The acting department's current assignment of the case."""

    lead: bool
    accepted: bool
    returned: bool  # sent back once already (a rejected return cannot be repeated)
    return_until: datetime
    reply_due: datetime
    extension_asked: bool


@dataclasses.dataclass(frozen=True)
class Situation:
    """What the decision depends on: the status, the time and the actor's assignment."""

    status: CaseStatus
    now: datetime
    desk: Desk | None = None  # the acting department's, None for anyone else
    lead_accepted: bool = False
    extension_pending: bool = False
    agents_may_dispatch: bool = False
    zone: tzinfo = MESSAGE_ZONE  # how times are written in messages


# Which party may take an action from which statuses; the details come after.
OPEN = frozenset(
    {S.REGISTERED, S.DISPATCHED, S.HANDLING, S.RETURNED, S.REPLIED, S.FOLLOWED_UP, S.MERGED}
)
WORKING = frozenset({S.DISPATCHED, S.HANDLING})
CLOSING = frozenset({S.REPLIED, S.FOLLOWED_UP})
MERGEABLE = frozenset({S.REGISTERED, S.DISPATCHED, S.HANDLING, S.RETURNED})
Who = Mapping[Party, frozenset[CaseStatus]]
RULES: Mapping[Action, Who] = {
    Action.DISPATCH: {
        Party.OFFICE: frozenset({S.REGISTERED}),
        Party.AGENT: frozenset({S.REGISTERED}),
    },
    Action.ACCEPT: {Party.DEPARTMENT: WORKING},
    Action.RETURN: {Party.DEPARTMENT: WORKING},
    Action.REDISPATCH: {Party.OFFICE: frozenset({S.RETURNED})},
    Action.REJECT_RETURN: {Party.OFFICE: frozenset({S.RETURNED})},
    Action.REQUEST_EXTENSION: {Party.DEPARTMENT: frozenset({S.HANDLING})},
    Action.APPROVE_EXTENSION: {Party.OFFICE: frozenset({S.HANDLING})},
    Action.DENY_EXTENSION: {Party.OFFICE: frozenset({S.HANDLING})},
    Action.NOTE: {Party.DEPARTMENT: WORKING, Party.OFFICE: OPEN},
    Action.REPLY: {Party.DEPARTMENT: frozenset({S.HANDLING})},
    Action.FOLLOW_UP: {Party.OFFICE: frozenset({S.REPLIED}), Party.SYSTEM: frozenset({S.REPLIED})},
    Action.REOPEN: {Party.OFFICE: CLOSING, Party.SYSTEM: CLOSING},
    Action.ARCHIVE: {Party.OFFICE: frozenset({S.REGISTERED, S.REPLIED, S.FOLLOWED_UP})},
    # A returned duplicate is settled by merging it as well as by re-dispatching it.
    Action.MERGE: {Party.OFFICE: MERGEABLE},
    Action.UNMERGE: {Party.OFFICE: frozenset({S.MERGED})},
}
READ_ONLY = "工单已归档，归档后只读，不能再办理"
LEAD_ONLY = frozenset({Action.RETURN, Action.REQUEST_EXTENSION, Action.REPLY})
# Archiving before a follow-up (a question answered on the phone, a citizen never reached)
# is the office's judgement, and must say why.
ARCHIVE_NEEDS_REASON = frozenset({S.REGISTERED, S.REPLIED})


def refusal(action: Action, party: Party, situation: Situation) -> ActionRefused | None:
    """Why `party` may not take `action` now, or None when it may."""
    status = situation.status
    if status is S.ARCHIVED:
        return _conflict(READ_ONLY)
    if status is S.DRAFT:
        return _conflict("工单尚未受理，请先受理登记")
    allowed = RULES[action]
    if party not in allowed:
        return _forbidden(f"{_party_label(party)}不能{ACTION_LABELS[action]}")
    if party is Party.AGENT and not situation.agents_may_dispatch:
        return _forbidden("话务员不能交办：本中心由热线办交办（设置 agents_may_dispatch 未开启）")
    if status not in allowed[party]:
        return _conflict(f"工单当前为“{STATUS_LABELS[status]}”，不能{ACTION_LABELS[action]}")
    if party is Party.DEPARTMENT:
        return _department_refusal(action, situation)
    check = _OFFICE_CHECKS.get(action)
    return check(situation) if check else None


def require(action: Action, party: Party, situation: Situation) -> None:
    """Raise ActionRefused unless `party` may take `action` now."""
    refused = refusal(action, party, situation)
    if refused is not None:
        raise refused


def allowed_actions(party: Party, situation: Situation) -> list[Action]:
    """Every action `party` may take now, in the order the workflow lists them."""
    return [action for action in Action if refusal(action, party, situation) is None]


def status_after(action: Action, situation: Situation) -> CaseStatus:
    """The case's status once `action` is done (a follow-up: see `follow_up_status`)."""
    if action is Action.ACCEPT:
        lead = situation.desk is not None and situation.desk.lead
        return S.HANDLING if lead else situation.status
    if action is Action.REJECT_RETURN:
        return S.HANDLING if situation.lead_accepted else S.DISPATCHED
    return _NEXT.get(action, situation.status)


def follow_up_status(*, citizen_content: bool, overridden: bool) -> CaseStatus:
    """After a follow-up: closed if the citizen is content or the office overrides, else rework."""
    return S.FOLLOWED_UP if citizen_content or overridden else S.DISPATCHED


_NEXT = {
    Action.DISPATCH: S.DISPATCHED,
    Action.RETURN: S.RETURNED,
    Action.REDISPATCH: S.DISPATCHED,
    Action.REPLY: S.REPLIED,
    Action.REOPEN: S.DISPATCHED,
    Action.ARCHIVE: S.ARCHIVED,
    Action.MERGE: S.MERGED,
    Action.UNMERGE: S.REGISTERED,  # its old assignments ended with the merge: dispatch anew
}


# 当场答复: who may register a draft and close it at once as a consultation answered from
# the knowledge base, and the status it ends in (no department, no follow-up call).
ANSWERING = frozenset({Party.AGENT, Party.LEADER, Party.OFFICE})
ANSWERED = S.ARCHIVED


def answer_refusal(party: Party, status: CaseStatus) -> ActionRefused | None:
    """Why `party` may not answer a case at first contact (当场答复) now, or None."""
    if party not in ANSWERING:
        return _forbidden(f"{_party_label(party)}不能当场答复")
    if status is S.ARCHIVED:
        return _conflict(READ_ONLY)
    if status is not S.DRAFT:
        return _conflict(f"工单当前为“{STATUS_LABELS[status]}”，只有待受理的来电可以当场答复")
    return None


def _department_refusal(action: Action, situation: Situation) -> ActionRefused | None:
    desk = situation.desk
    if desk is None:
        return _conflict("本单位当前没有这张工单的办理任务")
    if action in LEAD_ONLY and not desk.lead:
        return _forbidden(f"只有主办单位可以{ACTION_LABELS[action]}，协办单位请填写办理进展")
    if action is Action.ACCEPT:
        return _conflict("本单位已签收") if desk.accepted else None
    # A case that is not theirs is sent back instead of being signed for.
    if not desk.accepted and action is not Action.RETURN:
        return _conflict(f"请先签收，再{ACTION_LABELS[action]}")
    check = _DEPARTMENT_CHECKS.get(action)
    return check(situation, desk) if check else None


def _may_return(situation: Situation, desk: Desk) -> ActionRefused | None:
    if desk.returned:
        return _conflict("退单已被驳回，不能再次退单")
    if situation.now > desk.return_until:
        when = _local(desk.return_until, situation.zone)
        return _conflict(f"已超过退单时限（交办后 {when} 前可退单）")
    return None


def _may_ask_extension(situation: Situation, desk: Desk) -> ActionRefused | None:
    if situation.extension_pending:
        return _conflict("已有延期申请待热线办审批")
    if desk.extension_asked:
        return _conflict("每次交办只能申请一次延期，本单位已申请过")
    if situation.now >= desk.reply_due:
        when = _local(desk.reply_due, situation.zone)
        return _conflict(f"已过办理时限（{when}），不能再申请延期")
    return None


def _extension_pending(situation: Situation) -> ActionRefused | None:
    return None if situation.extension_pending else _conflict("没有待审批的延期申请")


_DEPARTMENT_CHECKS: Mapping[Action, Callable[[Situation, Desk], ActionRefused | None]] = {
    Action.RETURN: _may_return,
    Action.REQUEST_EXTENSION: _may_ask_extension,
}
_OFFICE_CHECKS: Mapping[Action, Callable[[Situation], ActionRefused | None]] = {
    Action.APPROVE_EXTENSION: _extension_pending,
    Action.DENY_EXTENSION: _extension_pending,
}


def _party_label(party: Party) -> str:
    labels = {
        Party.OFFICE: "热线办",
        Party.DEPARTMENT: "承办单位",
        Party.AGENT: "话务员",
        Party.LEADER: "值班领导",
        Party.SYSTEM: "系统",
    }
    return labels[party]


def _local(moment: datetime, zone: tzinfo) -> str:
    # in the office's zone, whatever zone the instant carries (the database gives UTC)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _conflict(message: str) -> ActionRefused:
    return ActionRefused(RefusalKind.CONFLICT, message)


def _forbidden(message: str) -> ActionRefused:
    return ActionRefused(RefusalKind.FORBIDDEN, message)
