"""Several ivr processes on one PostgreSQL: a pop made by one reaches a page on another.

Two console apps, each with its own bus and LISTEN/NOTIFY relay, share the real PostgreSQL
server (as two `ivr serve` processes would); the AMI handlers publish on the first, the
agent's WebSocket is connected to the second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.migrate import upgrade_database
from ivr.web.app import make_app
from ivr.web.pop_bus import CHANNEL, NoticeKind, PopBus
from ivr.web.state import ConsolePolicy
from tests.screen_pop_fixtures import INTERFACE, Client, Desk, FakeClock, agent, next_message

pytestmark = pytest.mark.postgres


@pytest.fixture
async def shared_engine(postgres_database: str) -> AsyncIterator[AsyncEngine]:
    """The test PostgreSQL database, migrated."""
    await upgrade_database(postgres_database)
    engine = make_engine(postgres_database)
    yield engine
    await engine.dispose()


@pytest.fixture
async def relayed_buses(postgres_database: str) -> AsyncIterator[tuple[PopBus, PopBus]]:
    """Two processes' buses, each relaying through the server."""
    first, second = PopBus(), PopBus()
    await first.start_relay(postgres_database)
    await second.start_relay(postgres_database)
    yield first, second
    await first.close()
    await second.close()


async def test_a_pop_from_one_process_reaches_a_page_on_another(
    aiohttp_client: Callable[..., Awaitable[Client]],
    shared_engine: AsyncEngine,
    relayed_buses: tuple[PopBus, PopBus],
    fresh_instant: Callable[[], Any],
) -> None:
    pops_process, page_process = relayed_buses
    db = make_sessionmaker(shared_engine)
    clock = FakeClock(fresh_instant())
    app = make_app(lambda: {}, db=db, policy=ConsolePolicy(), clock=clock, bus=page_process)
    desk = Desk(await aiohttp_client(app), db, pops_process, clock)
    name, _ = await agent(desk)
    base = desk.client.make_url("/")
    ws = await desk.client.ws_connect(
        "/ws/agent", headers={"Origin": f"{base.scheme}://{base.host}:{base.port}"}
    )
    uniqueid, case_id = await desk.call_with_draft()
    await desk.ring(uniqueid, case_id, name)
    pop = await next_message(ws, "pop")
    assert pop["case"]["id"] == case_id and pop["pop"]["interface"] == INTERFACE
    await desk.event("AgentRingNoAnswer", uniqueid, name)
    assert (await next_message(ws, "close"))["pop_id"] == pop["pop"]["id"]
    await ws.close()


async def test_a_relay_that_lost_its_connection_reconnects_and_asks_for_a_resync(
    postgres_database: str, relayed_buses: tuple[PopBus, PopBus]
) -> None:
    _, listener = relayed_buses
    heard = listener.subscribe("anyone")
    dsn = make_url(postgres_database).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(dsn)
    try:
        # the server drops the LISTEN connections (a restart or a network cut would)
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE query = $1 AND pid <> pg_backend_pid()",
            f'LISTEN "{CHANNEL}"',
        )
    finally:
        await admin.close()
    assert killed >= 1
    notice = await asyncio.wait_for(heard.get(), 15)
    assert notice.kind is NoticeKind.RESYNC
