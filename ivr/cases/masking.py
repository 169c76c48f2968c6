"""Whistleblowers (检举/举报): who may see the identity of the person who reported.

The office needs it (it calls the citizen back and answers for the protection); the agent or
leader who is taking the call or working the draft is already speaking with the caller. No
one else does: a department that handles the case never learns who reported it, and an
agent who opens a registered case later sees it masked. Pure functions: the web layer asks.
"""

from __future__ import annotations

from collections.abc import Mapping

from ivr.db.models import CaseStatus, Role

MASK = "***"
# What identifies the reporter: their number, name and call-back number. The address is
# where the problem is, which the department needs.
IDENTITY_FIELDS = ("caller_number", "caller_name", "contact_phone")


def may_see_identity(role: Role, *, holds_case: bool, status: CaseStatus) -> bool:
    """Whether this viewer may see a whistleblower's identity on a case."""
    if role is Role.OFFICE:
        return True
    taking_the_call = role in (Role.AGENT, Role.LEADER)
    return taking_the_call and holds_case and status is CaseStatus.DRAFT


def masked(case: Mapping[str, object], *, whistleblower: bool, visible: bool) -> dict[str, object]:
    """The case fields as this viewer may see them (`identity_masked` says if they are)."""
    shown = dict(case)
    hide = whistleblower and not visible
    if hide:
        for name in IDENTITY_FIELDS:
            if shown.get(name):
                shown[name] = MASK
    shown["identity_masked"] = hide
    return shown
