"""Playing a prompt in any flow: a prompt that cannot be played is logged and skipped.

A missing or unreadable prompt file must never cost the caller their call (their request,
their route, their survey answer): the flow carries on as if it had played.
"""

from __future__ import annotations

import structlog

from ivr.agi.channel import AgiChannel
from ivr.errors import AgiCommandFailed
from ivr.settings import Settings

log = structlog.get_logger(__name__)


async def say(channel: AgiChannel, settings: Settings, name: str, keys: str = "") -> str | None:
    """Play prompt `name`; the key among `keys` that interrupted it, if any."""
    try:
        return await channel.play(settings.prompts_dir / name, keys)
    except AgiCommandFailed as exc:
        log.error("prompt_failed", prompt=name, error=str(exc))
        return None
