"""漏接回拨 over AMI: ring the agent's own phone, then (dialplan `[callback]`) the citizen.

AMI has no `system` right here, so an Originate cannot start AGI: it sends the agent's leg
into the `[callback]` context, which dials the citizen through `followup_dial` and reports
Dial's result as `UserEvent(IvrCallback)` (recorded by ivr.handlers.callback_events). The
Originate waits for the agent to pick up; Asterisk's error reply (their phone did not) ends
the attempt as failed. No reply at all (our timeout, a link lost meanwhile) proves nothing:
the call may be on, so the attempt stays placed for the dialplan's report, or RESULT_WAIT, to
settle. Originate is never replayed after an AMI reconnect (ivr.ami.client): nobody is rung
twice.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from datetime import datetime

import structlog

from ivr.db import callback_attempts
from ivr.db.callback_attempts import MayCall, Target, anyone
from ivr.db.callback_views import AttemptView, get_attempt
from ivr.db.calls import Sessions
from ivr.db.channel_models import CallbackOutcome
from ivr.dialplans import variables
from ivr.errors import AmiError
from ivr.handlers.agent_presence import AmiLink
from ivr.settings import Settings

log = structlog.get_logger(__name__)

CALLBACK_CONTEXT = "callback"
USER_EVENT = "IvrCallback"
# channel variables the [callback] context reads (asterisk-config/extensions.conf)
ATTEMPT_VAR = variables.CALLBACK_ID
DIAL_VAR = variables.CALLBACK_DIAL
RING_VAR = variables.CALLBACK_RING
AGENT_RING_SECONDS = 20
# OriginateResponse comes once the agent answers or their phone gives up
ORIGINATE_WAIT = AGENT_RING_SECONDS + 15
# the agent's phone shows the hotline, never the number: a reporter's may be masked for them
CALLER_ID = '"12345" <12345>'
# Dial's DIALSTATUS; CANCEL: the agent hung up while the citizen's phone rang
OUTCOMES = {
    "ANSWER": CallbackOutcome.REACHED,
    "NOANSWER": CallbackOutcome.NO_ANSWER,
    "CANCEL": CallbackOutcome.NO_ANSWER,
    "BUSY": CallbackOutcome.BUSY,
}


class Ring(enum.Enum):
    """How ringing the agent's phone ended."""

    ANSWERED = "answered"  # they picked up: [callback] is dialling the citizen
    REFUSED = "refused"  # Asterisk replied with an error, or nothing was sent: no call
    UNCONFIRMED = "unconfirmed"  # no reply: the call may be on, its result is pending


@dataclasses.dataclass(frozen=True)
class Placed:
    """A call back once the agent's phone was rung."""

    attempt: AttemptView
    ring: Ring

    @property
    def pending(self) -> bool:
        """Whether nobody knows yet if the call is on (its result will tell)."""
        return self.ring is Ring.UNCONFIRMED and self.attempt.outcome is CallbackOutcome.PLACED


def outcome_of(dial_status: str) -> CallbackOutcome:
    """What a call back came to, from Dial's status (anything unexpected: failed)."""
    return OUTCOMES.get(dial_status.strip().upper(), CallbackOutcome.FAILED)


def originate_fields(attempt: AttemptView, settings: Settings) -> dict[str, str | list[str]]:
    """The Originate that rings the agent and then, in [callback], the citizen."""
    variables = {
        ATTEMPT_VAR: str(attempt.id),
        DIAL_VAR: settings.followup_dial.format(number=attempt.number),
        RING_VAR: str(settings.callback_ring_seconds),
    }
    return {
        "Action": "Originate",
        "Channel": attempt.interface,
        "Context": CALLBACK_CONTEXT,
        "Exten": "s",
        "Priority": "1",
        "CallerID": CALLER_ID,
        "Timeout": str(AGENT_RING_SECONDS * 1000),
        "Variable": [f"{name}={value}" for name, value in variables.items()],
        # Async: the outcome comes in OriginateResponse; a synchronous Originate would hold
        # the manager session (and its pings) while the agent's phone rings
        "Async": "true",
    }


async def place_callback(
    ami: AmiLink,
    settings: Settings,
    sm: Sessions,
    target: Target,
    *,
    agent: str,
    interface: str,
    clock: Callable[[], datetime],
    may_call: MayCall = anyone,
) -> Placed:
    """Claim the number, ring the agent; returns once they picked up (the citizen is being
    dialled), their phone did not (the attempt failed) or Asterisk did not say (pending)."""
    attempt = await callback_attempts.start_attempt(
        sm, target, agent=agent, interface=interface, at=clock(), may_call=may_call
    )
    log.info("callback_placed", attempt_id=attempt.id, agent=agent, interface=interface)
    ring, error = await _ring_agent(ami, attempt, settings)
    if ring is Ring.UNCONFIRMED:
        log.warning("callback_unconfirmed", attempt_id=attempt.id, error=error)
    elif ring is Ring.REFUSED:
        log.warning("callback_agent_unreached", attempt_id=attempt.id, error=error)
        await callback_attempts.finish_attempt(
            sm, attempt.id, CallbackOutcome.FAILED, at=clock(), details={"reason": error}
        )
    return Placed(await get_attempt(sm, attempt.id), ring)  # its result may be in already


async def _ring_agent(
    ami: AmiLink, attempt: AttemptView, settings: Settings
) -> tuple[Ring, str | None]:
    if not ami.logged_in.is_set():  # the client would refuse to send it: nothing rings
        return Ring.REFUSED, "AMI not connected"
    fields = originate_fields(attempt, settings)
    try:  # the outcome comes when the agent answers or their phone gives up
        await ami.action(fields, timeout=ORIGINATE_WAIT)
    except AmiError as exc:
        # The client raises from the TimeoutError when no reply came (a lost link's reply
        # never comes either); an AmiError of its own is Asterisk's Response: Error.
        ring = Ring.REFUSED if exc.__cause__ is None else Ring.UNCONFIRMED
        return ring, str(exc)
    return Ring.ANSWERED, None
