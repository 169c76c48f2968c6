"""Work that outlives a FastAGI session, tracked so it is neither lost nor silently failed.

Transcribing a request takes seconds; the caller goes to the queue at once and the analysis
finishes in the background. Shutdown waits for it (the audio and the draft are already
saved, so a crash loses only the analysis, never the request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class BackgroundTasks:
    """A set of running tasks; failures are logged with the context they started in."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run work in the background (it keeps the caller's structlog context)."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background_task_failed", task=task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float) -> None:
        """Wait for running work; cancel what is still running after timeout seconds."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in late:
            log.warning("background_task_cancelled", task=task.get_name())
            task.cancel()
