"""What the flows and event handlers need, built once per process and passed in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.cases.taxonomy import Taxonomy
from ivr.settings import Settings
from ivr.speech.asr import Transcriber
from ivr.speech.audiosocket import AudioSocketServer
from ivr.tasks import BackgroundTasks


async def _nobody_listens(case_id: int) -> None:
    return None


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Settings, database, speech and taxonomy: the flows' whole view of the world."""

    settings: Settings
    db: async_sessionmaker[AsyncSession]
    transcriber: Transcriber
    taxonomy: Taxonomy
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    clock: Callable[[], datetime] = field(default=utc_now)
    # called after the IVR wrote onto a case, so consoles showing it refresh (screen-pops)
    case_changed: Callable[[int], Awaitable[None]] = field(default=_nobody_listens)
    # where Asterisk streams callers' requests (None: record them instead)
    audiosocket: AudioSocketServer | None = None
