"""Small translations of AMI events: channel variables and event times."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from ivr.handlers.queue_events import QueueEventHandlers, channel_vars

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _handlers() -> QueueEventHandlers:
    services: Any = SimpleNamespace(
        clock=lambda: NOW, settings=SimpleNamespace(queue_name="q", leader_queue_name="l")
    )
    return QueueEventHandlers(services)


def test_channel_variables_one_or_many_headers() -> None:
    many = {"ChanVariable": ["IVR_CASE_ID=42", "IVR_FALLBACK=1"]}
    assert channel_vars(many) == {"IVR_CASE_ID": "42", "IVR_FALLBACK": "1"}  # type: ignore[arg-type]
    assert channel_vars({"ChanVariable": "IVR_CASE_ID=7"}) == {"IVR_CASE_ID": "7"}
    assert channel_vars({}) == {}


def test_event_time_is_asterisks_timestamp_when_present() -> None:
    handlers = _handlers()
    stamped = handlers._when({"Timestamp": "1795766400.250000"})
    assert stamped == datetime(2026, 11, 27, 8, 0, 0, 250000, tzinfo=UTC)
    assert handlers._when({}) == NOW  # older Asterisk or timestampevents off
    assert handlers._when({"Timestamp": "garbage"}) == NOW
