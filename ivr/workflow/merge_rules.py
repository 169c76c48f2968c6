"""并单: which case may be merged into which. Pure, like ivr.workflow.transitions.

The merged case's own status is the transition rules' (Action.MERGE: registered, dispatched,
handling or returned, the office's move). Here: the main case it joins. Merging is flat, one
level: a main case is never itself merged, so a chain or a cycle (A into B into A) cannot be
made, and a case merged into another is a main case's only child. A reporter's case (检举/
举报) is never merged either way: every merged caller hears the main case's reply and is
called back about it, which would tell them who reported.
"""

from __future__ import annotations

import dataclasses

from ivr.db.models import CaseStatus
from ivr.workflow.transitions import ActionRefused, RefusalKind

S = CaseStatus


@dataclasses.dataclass(frozen=True)
class MergeSide:
    """What a merge decides on about one of its two cases."""

    id: int
    number: str | None
    status: CaseStatus
    whistleblower: bool
    merged_into_id: int | None

    @property
    def label(self) -> str:
        """The case as the office names it."""
        return self.number or f"#{self.id}"


def merge_refusal(child: MergeSide, main: MergeSide) -> ActionRefused | None:
    """Why `child` may not join `main`, or None (the child's status is checked elsewhere)."""
    if child.id == main.id:
        return _conflict("不能把工单并入它自己")
    if child.whistleblower or main.whistleblower:
        return _conflict("举报件不能并单：并单后各来电人都会收到回复，会泄露举报人")
    if main.merged_into_id is not None or main.status is S.MERGED:
        return _conflict(f"工单 {main.label} 已并入其他工单，请并入它的主工单")
    if main.status is S.DRAFT:
        return _conflict(f"工单 {main.label} 尚未受理，不能作为主工单")
    if main.status is S.ARCHIVED:
        return _conflict(f"工单 {main.label} 已归档，不能再并入工单")
    return None


def _conflict(message: str) -> ActionRefused:
    return ActionRefused(RefusalKind.CONFLICT, message)
