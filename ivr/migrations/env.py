"""Alembic environment for ivr.

`ivr.db.migrate` hands over an open connection (config.attributes["connection"]). From the
command line, pass the database URL instead:
    alembic -c ivr/migrations/alembic.ini -x url=sqlite+aiosqlite:///var/ivr.db upgrade head
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from ivr.db import (
    channel_models,  # noqa: F401 (its tables belong to the metadata)
    console_models,  # noqa: F401 (its tables belong to the metadata)
    duty_models,  # noqa: F401 (its tables belong to the metadata)
    insight_models,  # noqa: F401 (its tables belong to the metadata)
    lease,  # noqa: F401 (its tables belong to the metadata)
    urging_models,  # noqa: F401 (its tables belong to the metadata)
    workflow_models,  # noqa: F401 (its tables belong to the metadata)
)
from ivr.db.engine import make_engine
from ivr.db.models import Base


def run_on(connection: Connection) -> None:
    """Run the migrations on an open connection, inside its transaction."""
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_on_url(url: str) -> None:
    """Open the database at `url` and migrate it (command-line use)."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_on)
    finally:
        await engine.dispose()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("pass the database with: alembic -x url=<database url> ...")
    return url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := context.config.attributes.get("connection")) is not None:
    run_on(connection)
else:
    asyncio.run(run_on_url(_url()))
