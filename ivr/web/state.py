"""What the console's handlers share: typed app and request keys and the console's policy."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from ivr.db.web_sessions import SessionView, Throttle
from ivr.errors import ConfigError
from ivr.settings import Settings

Clock = Callable[[], datetime]
# Each hash check holds 64 MiB for a quarter second: a burst of logins must queue, not swap.
HASHING_SLOTS = 4


@dataclasses.dataclass(frozen=True)
class ConsolePolicy:
    """Session lifetime, cookie security, login throttle and the time zone shown to users."""

    idle: timedelta = timedelta(hours=12)
    secure_cookies: bool = False
    throttle: Throttle = dataclasses.field(default_factory=Throttle)
    timezone: ZoneInfo = dataclasses.field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    # scheme://host:port browsers use when a proxy terminates TLS ("" = what we are asked as)
    public_origin: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsolePolicy:
        """The policy the settings ask for; a ConfigError when they make no sense."""
        hours = settings.web_session_idle_hours
        if not 0 < hours <= 24 * 30:
            raise ConfigError(f"setting web_session_idle_hours: {hours} is not in (0, 720]")
        try:
            zone = ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"setting timezone: {settings.timezone!r} is unknown") from exc
        return cls(
            idle=timedelta(hours=hours),
            secure_cookies=_flag("web_secure_cookies", settings.web_secure_cookies),
            timezone=zone,
            public_origin=_origin(settings.web_public_origin),
        )


def _origin(value: str) -> str:
    if not value:
        return ""
    url = URL(value)
    if url.scheme not in ("http", "https") or not url.host or url.path not in ("", "/"):
        raise ConfigError(f"setting web_public_origin: {value!r} is not like https://host[:port]")
    return f"{url.scheme}://{url.host}:{url.port}"


def _flag(name: str, value: object) -> bool:
    # Settings leave IVR_* environment values as text for bool fields: "false" must not be
    # taken as true.
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"setting {name}: {value!r} is not true or false")


db_key: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("db")
policy_key: web.AppKey[ConsolePolicy] = web.AppKey("console_policy")
clock_key: web.AppKey[Clock] = web.AppKey("clock")
hashing_key: web.AppKey[asyncio.Semaphore] = web.AppKey("hashing_slots")
recordings_key: web.AppKey[Path] = web.AppKey("recordings_dir")
settings_key: web.AppKey[Settings] = web.AppKey("settings")
# Set by the session middleware on every request of the console: None when not logged in.
session_key: web.RequestKey[SessionView | None] = web.RequestKey("console_session")
