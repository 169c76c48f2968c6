"""What every statistics figure counts: the one place they are defined.

Counts are kept as additive sums (a day's plus the next day's is the two days'), so the
database groups by local day and weeks, months and departments are added up here; rates
are computed from the sums at the end and are None, shown "—", when their denominator is 0
(no calls is not 0 %).

Calls (话务). The call figures are the wallboard's, defined in `ivr.db.wallboard` and
computed by the same rules (a "queue call" joined the agents' queue or the leader's desk;
calls that ended in the IVR are not counted); a call counts in the period it joined the
queue in (`queue_joined_at`), whatever became of it later:

    figure          definition
    呼入量 offered     queue calls that joined in the period
    接通量 answered    ... an agent answered (`answered_at`, else `completed_at`)
    15秒接通量         ... answered with a wait of at most 15 s (GB/T 33358-2016)
    放弃量 abandoned   ... not answered, and the caller left the queue or hung up
    接通率            answered / offered        (GB/T 33358-2016: at least 95 % over 24 h)
    15秒接通率         answered within 15 s / offered
    平均等待时长        total wait of the answered calls / answered
    平均通话时长        total talk time / answered calls with a talk time (`talk_seconds`,
                     Asterisk's, or answer to hang-up as `Call.settle` fills it)

A call still waiting (or whose end was never recorded) is offered, neither answered nor
abandoned: its period's rates are not flattered by a call whose fate is unknown.

Cases (工单). The rates follow published 12345 practice: the State Council General Office's
2020 guideline on the local government service hotlines (国办发〔2020〕53号) has them judged
by response, resolution and satisfaction (响应率、解决率、满意率), and city assessment rules
spell that out as on-time acceptance and reply, 办结率 over the cases due, and the follow-up
call's 满意率 (满意 + 基本满意) and 解决率. Each counts in the period its deciding event falls in:

    figure          numerator / denominator                                  period of
    受理量 received   cases registered by an agent (not drafts; merged cases     created_at
                     count: each is a citizen's request)
    交办量 dispatched lead assignments of a dispatch or re-dispatch (改派)        dispatched_at
    按时签收率        assignments (lead and co-handlers) accepted by their        accepted_at
                     accept_due / assignments accepted
    按时回复率        lead assignments replied by their reply_due (as moved by   replied_at
                     an approved extension) / lead assignments replied
    办结率           cases due now closed (followed up or archived) / cases      reply_due
                     due: a case is due when its current round's lead
                     assignment (not withdrawn) has its reply_due in the
                     period; merged cases are handled by their main case and
                     left out. "Now": a past period's rate rises as late cases
                     close, as 12345 reports 截至统计时.
    满意率           surveys answered satisfied or basically satisfied         survey at
                     (满意 + 基本满意) / surveys
    解决率           surveys answered resolved / surveys                        survey at
    重办件数 reworked lead assignments of a rework round (重新办理)               dispatched_at

Per department: the assignment's department (for surveys, the lead department of the
surveyed round). Per category and class (一般件/重要件/急阅件): the case's. Per agent: the
queue member who answered (`Call.agent`). Leader-day figures (领导接听日) are the same
definitions over the calls offered to the leader's desk (their queue is the desk) and the
cases a leader handled (`Case.leader_handled`); they are also in the totals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TypeVar

from ivr.db.wallboard import Tally

S = TypeVar("S", "CallSums", "CaseSums")


@dataclasses.dataclass(frozen=True)
class CallSums:
    """Additive call counts of a period (see the module for what each counts)."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    wait_total: float = 0.0  # seconds, over the answered calls
    talked: int = 0  # answered calls with a talk time
    talk_total: float = 0.0  # seconds

    def __add__(self, other: CallSums) -> CallSums:
        return _added(self, other)

    def tally(self) -> Tally:
        """The wallboard's tally of the same calls (its rates are the definitions)."""
        return Tally(
            offered=self.offered,
            answered=self.answered,
            answered_within=self.answered_within,
            abandoned=self.abandoned,
            average_wait=ratio(self.wait_total, self.answered),
        )

    @property
    def answer_rate(self) -> float | None:
        """接通率: answered / offered."""
        return self.tally().answer_rate

    @property
    def service_level(self) -> float | None:
        """15秒接通率: answered within the threshold / offered."""
        return self.tally().service_level

    @property
    def average_wait(self) -> float | None:
        """平均等待时长 in seconds."""
        return ratio(self.wait_total, self.answered)

    @property
    def average_talk(self) -> float | None:
        """平均通话时长 in seconds."""
        return ratio(self.talk_total, self.talked)


@dataclasses.dataclass(frozen=True)
class CaseSums:
    """Additive case counts of a period (see the module for what each counts)."""

    received: int = 0
    dispatched: int = 0
    accepted: int = 0
    accepted_on_time: int = 0
    replied: int = 0
    replied_on_time: int = 0
    due: int = 0
    closed: int = 0
    surveyed: int = 0
    satisfied: int = 0
    resolved: int = 0
    reworked: int = 0

    def __add__(self, other: CaseSums) -> CaseSums:
        return _added(self, other)

    @property
    def on_time_acceptance(self) -> float | None:
        """按时签收率."""
        return ratio(self.accepted_on_time, self.accepted)

    @property
    def on_time_reply(self) -> float | None:
        """按时回复率."""
        return ratio(self.replied_on_time, self.replied)

    @property
    def closure_rate(self) -> float | None:
        """办结率."""
        return ratio(self.closed, self.due)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率."""
        return ratio(self.satisfied, self.surveyed)

    @property
    def resolution_rate(self) -> float | None:
        """解决率."""
        return ratio(self.resolved, self.surveyed)


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when whole is 0 (nothing to measure is not 0 %)."""
    return part / whole if whole else None


def total(items: Iterable[S], empty: S) -> S:
    """The sum of some sums (`empty` when there are none)."""
    result = empty
    for item in items:
        result = result + item
    return result


def _added(a: S, b: S) -> S:
    values = {f.name: getattr(a, f.name) + getattr(b, f.name) for f in dataclasses.fields(a)}
    return type(a)(**values)
