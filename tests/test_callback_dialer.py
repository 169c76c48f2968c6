"""漏接回拨's Originate through the real AMI client, against a fake manager over a real socket:
only Asterisk's own error reply fails a call back; a reply that never comes (our timeout, a
link lost while the agent's phone rings) leaves its result to the dialplan's report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest

from ivr import callback_dialer
from ivr.ami.client import AmiClient
from ivr.callback_dialer import place_callback
from ivr.db import callback_attempts
from ivr.db.callback_attempts import Target
from ivr.db.channel_models import CallbackOutcome
from ivr.settings import Settings
from tests.test_ami_client import FakeManager
from tests.test_callback_list import abandoned, row_of
from tests.test_db_calls import Sessions, new_number

pytest_plugins = ["tests.db_fixtures"]
SETTINGS = Settings(followup_dial="Local/{number}@citizen-sim/n")


class OriginateManager(FakeManager):
    """Also takes Originate: replies with an error, stays silent, or drops the link."""

    def __init__(self) -> None:
        super().__init__()
        self.originate = "silent"
        self.originates = 0

    def _answer(self, writer: asyncio.StreamWriter, action: dict[str, str]) -> None:
        if action.get("Action", "").lower() != "originate":
            super()._answer(writer, action)
            return
        self.originates += 1
        if self.originate == "error":
            reply = "Response: Error\r\nMessage: Originate failed\r\n"
            writer.write(f"{reply}ActionID: {action.get('ActionID', '')}\r\n\r\n".encode())
        elif self.originate == "drop":
            writer.close()


@pytest.fixture
async def manager() -> AsyncIterator[tuple[OriginateManager, AmiClient]]:
    """A logged-in AMI client on the fake manager."""
    fake = OriginateManager()
    port = await fake.start()
    client = AmiClient(host="127.0.0.1", port=port, username="ivr", secret="s", ping_interval=0.3)
    await client.start()
    await client.wait_logged_in(5)
    yield fake, client
    await client.close()
    await fake.stop()


@pytest.fixture(autouse=True)
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait half a second for the Originate's reply, not the agent's whole ring time."""
    monkeypatch.setattr(callback_dialer, "ORIGINATE_WAIT", 0.5)


async def _call_back(db: Sessions, client: AmiClient, number: str, at: datetime) -> CallbackOutcome:
    call_id = await abandoned(db, number, at)
    await place_callback(
        client,
        SETTINGS,
        db,
        Target(call_id=call_id),
        agent="li",
        interface="PJSIP/8001",
        clock=lambda: at + timedelta(minutes=1),
    )
    row = await row_of(db, number, at + timedelta(minutes=2))
    assert row is not None and len(row.attempts) == 1
    return row.attempts[0].outcome


@pytest.mark.parametrize("originate", ["silent", "drop"])
async def test_no_reply_leaves_the_attempt_placed_for_the_dialplans_report(
    db_sessionmaker: Sessions,
    fresh_instant: Callable[[], datetime],
    manager: tuple[OriginateManager, AmiClient],
    originate: str,
) -> None:
    fake, client = manager
    fake.originate = originate
    db, t0, number = db_sessionmaker, fresh_instant(), new_number()
    assert await _call_back(db, client, number, t0) is CallbackOutcome.PLACED
    row = await row_of(db, number, t0 + timedelta(minutes=2))
    assert row is not None
    finished = await callback_attempts.finish_attempt(
        db, row.attempts[0].id, CallbackOutcome.REACHED, at=t0 + timedelta(minutes=3), details={}
    )
    assert finished is not None and finished.outcome is CallbackOutcome.REACHED
    if originate == "drop":
        await client.wait_logged_in(5)  # reconnected: nothing it had pending is replayed
        await asyncio.sleep(0.2)
    assert fake.originates == 1, "nobody is rung twice"


async def test_asterisks_error_reply_fails_the_attempt(
    db_sessionmaker: Sessions,
    fresh_instant: Callable[[], datetime],
    manager: tuple[OriginateManager, AmiClient],
) -> None:
    fake, client = manager
    fake.originate = "error"
    db, t0 = db_sessionmaker, fresh_instant()
    assert await _call_back(db, client, new_number(), t0) is CallbackOutcome.FAILED
