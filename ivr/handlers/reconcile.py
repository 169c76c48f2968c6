"""After every AMI (re)login, close the records of calls that ended while we were not listening.

Events are not replayed: a Hangup that happened during an Asterisk restart or a dropped AMI
link is gone. Asterisk's list of live channels is the truth; a call record still open in the
database whose channel no longer exists has ended, and is closed (an abandoned caller in the
queue is then flagged for callback like any other).
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select

from ivr.ami.client import AmiClient
from ivr.db import calls
from ivr.db.models import Call
from ivr.errors import AmiError
from ivr.services import Services

log = structlog.get_logger(__name__)

LOOK_BACK = timedelta(days=2)  # older open records are a matter for a person, not a sweep
CAUSE = "ended while the AMI link was down"


class CallReconciler:
    """Registered as an AMI login hook."""

    def __init__(self, services: Services, ami: AmiClient) -> None:
        self.services = services
        self.ami = ami

    async def reconcile(self) -> None:
        """Close every open call record whose channel Asterisk no longer has."""
        try:
            live = await self._live_uniqueids()
        except AmiError as exc:
            log.warning("reconcile_skipped", error=str(exc))
            return
        stale = [uid for uid in await self._open_uniqueids() if uid not in live]
        for uniqueid in stale:
            await calls.record_hangup(
                self.services.db, uniqueid, at=self.services.clock(), cause=CAUSE
            )
        if stale:
            log.warning("calls_closed_after_ami_outage", count=len(stale), uniqueids=stale)

    async def _live_uniqueids(self) -> set[str]:
        reply = await self.ami.action({"Action": "CoreShowChannels"}, timeout=15)
        messages = reply if isinstance(reply, list) else [reply]
        return {m["Uniqueid"] for m in messages if m.get("Event") == "CoreShowChannel"}

    async def _open_uniqueids(self) -> list[str]:
        since = self.services.clock() - LOOK_BACK
        query = select(Call.uniqueid).where(Call.ended_at.is_(None), Call.started_at >= since)
        async with self.services.db() as session:
            return list((await session.scalars(query)).all())
