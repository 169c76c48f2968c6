"""漏接回拨 over AMI: ring the agent's own phone, then (dialplan `[callback]`) the citizen.

AMI has no `system` right here, so an Originate cannot start AGI: it sends the agent's leg
into the `[callback]` context, which dials the citizen through `followup_dial` and reports
Dial's result as `UserEvent(IvrCallback)` (recorded by ivr.handlers.callback_events). The
Originate waits for the agent to pick up; a phone that does not ends the attempt as failed.
Originate is never replayed after an AMI reconnect (ivr.ami.client): nobody is rung twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from ivr.db import callback_attempts
from ivr.db.callback_attempts import Target
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
# the agent's phone shows the hotline, never the number: a reporter's may be masked for them
CALLER_ID = '"12345" <12345>'
# Dial's DIALSTATUS; CANCEL: the agent hung up while the citizen's phone rang
OUTCOMES = {
    "ANSWER": CallbackOutcome.REACHED,
    "NOANSWER": CallbackOutcome.NO_ANSWER,
    "CANCEL": CallbackOutcome.NO_ANSWER,
    "BUSY": CallbackOutcome.BUSY,
}


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
) -> AttemptView:
    """Claim the number, ring the agent; returns once they picked up (the citizen is being
    dialled) or their phone did not (the attempt failed)."""
    attempt = await callback_attempts.start_attempt(
        sm, target, agent=agent, interface=interface, at=clock()
    )
    log.info("callback_placed", attempt_id=attempt.id, agent=agent, interface=interface)
    failure = await _ring_agent(ami, attempt, settings)
    if failure is None:
        return await get_attempt(sm, attempt.id)  # its result may be in already
    log.warning("callback_agent_unreached", attempt_id=attempt.id, error=failure)
    details = {"reason": failure}
    await callback_attempts.finish_attempt(
        sm, attempt.id, CallbackOutcome.FAILED, at=clock(), details=details
    )
    return await get_attempt(sm, attempt.id)


async def _ring_agent(ami: AmiLink, attempt: AttemptView, settings: Settings) -> str | None:
    fields = originate_fields(attempt, settings)
    try:  # synchronous Originate: the reply comes when the agent answers or it fails
        await ami.action(fields, timeout=AGENT_RING_SECONDS + 15, as_list=False)
    except AmiError as exc:
        return str(exc)
    return None
