"""漏接回拨 results: the `[callback]` dialplan's UserEvent(IvrCallback) onto the attempt.

The dialplan reports once per call back, after Dial returns or from `h` when the agent hung up
first: `Attempt` (the attempt id), `DialStatus` (Dial's DIALSTATUS) and `Talk` (ANSWEREDTIME).
Every ivr process hears it; the attempt takes the first report (ivr.db.callback_attempts).
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from ivr.ami.client import AmiClient, Event
from ivr.callback_dialer import USER_EVENT, outcome_of
from ivr.db import callback_attempts
from ivr.services import Services

log = structlog.get_logger(__name__)

# call backs are few and wait for nobody: a lane of their own, not behind the queue events
LANE = "callbacks"


class CallbackEvents:
    """Registered on the AMI client by `ivr serve`."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def register(self, ami: AmiClient) -> None:
        """Subscribe to the dialplan's user events."""
        ami.on("UserEvent", self.on_user_event, lane=LANE)

    async def on_user_event(self, event: Event) -> None:
        """Record a call back's result (other user events are not ours)."""
        if event.get("UserEvent") != USER_EVENT:
            return
        attempt_id = _number(event.get("Attempt"))
        if attempt_id is None:
            log.warning("callback_event_without_attempt", attempt=event.get("Attempt"))
            return
        status = (event.get("DialStatus") or "").strip().upper()
        outcome = outcome_of(status)
        details = {"dial_status": status or None, "talk_seconds": _number(event.get("Talk"))}
        recorded = await callback_attempts.finish_attempt(
            self.services.db, attempt_id, outcome, at=self._when(event), details=details
        )
        log.info(
            "callback_result",
            attempt_id=attempt_id,
            outcome=outcome.value,
            dial_status=status,
            recorded=recorded is not None,
        )

    def _when(self, event: Event) -> datetime:
        # Asterisk's own timestamp (timestampevents=yes): exact even when our handling lags
        try:
            return datetime.fromtimestamp(float(event["Timestamp"]), UTC)
        except (KeyError, ValueError):
            return self.services.clock()


def _number(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None
