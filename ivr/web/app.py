"""aiohttp application factory: /healthz always, the console when a database is given."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import users
from ivr.db.engine import utcnow
from ivr.settings import Settings
from ivr.web import (
    agent_socket,
    alerts_routes,
    api,
    assets,
    callbacks_api,
    cases_api,
    duty_api,
    duty_pages,
    followup_api,
    kb_api,
    login,
    mailbox_public,
    pages,
    presence,
    stats_pages,
    urging_api,
    urging_pages,
    wallboard,
    work_queue,
    workflow_api,
    workflow_pages,
)
from ivr.web.guard import public, session_middleware
from ivr.web.html import no_favicon
from ivr.web.pop_bus import PopBus, pop_bus_key
from ivr.web.presence import Telephony, telephony_key
from ivr.web.responses import add_security_headers, error_middleware
from ivr.web.state import (
    HASHING_SLOTS,
    Clock,
    ConsolePolicy,
    clock_key,
    db_key,
    hashing_key,
    policy_key,
    recordings_key,
    settings_key,
)
from ivr.workflow.rules import WorkflowRules

HealthProbe = Callable[[], dict[str, Any]]
health_key: web.AppKey[HealthProbe] = web.AppKey("health")


@public
async def healthz(request: web.Request) -> web.Response:
    """Liveness and readiness: 200 when AMI is logged in and AGI listens, else 503."""
    report = request.app[health_key]()
    status = 200 if all(report.values()) else 503
    return web.json_response(report, status=status)


def make_app(
    health: HealthProbe,
    *,
    db: async_sessionmaker[AsyncSession] | None = None,
    settings: Settings | None = None,
    policy: ConsolePolicy | None = None,
    clock: Clock = utcnow,
    telephony: Telephony | None = None,
    bus: PopBus | None = None,
) -> web.Application:
    """Build the web application; without `db` it serves /healthz only.

    Without `telephony` (no Asterisk to ask) the presence API answers 503 and the agent
    page shows no queue buttons. `bus` carries screen-pops from the AMI handlers (a private
    one when none is given: pages then hear only what this app itself publishes).
    """
    app = web.Application(client_max_size=64 * 1024, middlewares=[error_middleware])
    app[health_key] = health
    app.router.add_get("/healthz", healthz)
    app.on_response_prepare.append(add_security_headers)
    if db is not None:
        if policy is None:
            policy = ConsolePolicy.from_settings(settings or Settings())
        _add_console(app, db, policy, clock)
        app[settings_key] = settings or Settings()
        app[recordings_key] = app[settings_key].recordings_dir
        app[workflow_api.rules_key] = WorkflowRules.from_settings(app[settings_key])
        app[pop_bus_key] = bus or PopBus()
        if telephony is not None:
            app[telephony_key] = telephony
    return app


def _add_console(
    app: web.Application,
    db: async_sessionmaker[AsyncSession],
    policy: ConsolePolicy,
    clock: Clock,
) -> None:
    app[db_key] = db
    app[policy_key] = policy
    app[clock_key] = clock
    app[hashing_key] = asyncio.Semaphore(HASHING_SLOTS)
    app.middlewares.append(session_middleware)
    app.on_startup.append(_prepare_dummy_hash)
    router = app.router
    assets.add_routes(router)
    router.add_get("/favicon.ico", public(no_favicon))
    router.add_get("/login", login.login_form)
    router.add_post("/login", login.login)
    router.add_post("/logout", login.logout)
    router.add_get("/", pages.home)
    for role, path in pages.ROLE_HOME.items():
        router.add_get(path, pages.role_page(role))
    router.add_get("/api/me", api.me)
    presence.add_routes(router)
    cases_api.add_routes(router)
    work_queue.add_routes(router)
    callbacks_api.add_routes(router)
    wallboard.add_routes(router)
    duty_api.add_routes(router)
    duty_pages.add_routes(router)
    workflow_api.add_routes(router)
    workflow_pages.add_routes(router)
    followup_api.add_routes(router)
    urging_api.add_routes(router)
    urging_pages.add_routes(router)
    mailbox_public.add_routes(router)
    agent_socket.add_routes(app)
    kb_api.add_routes(app)
    alerts_routes.add_routes(router)
    stats_pages.add_routes(router)


async def _prepare_dummy_hash(app: web.Application) -> None:
    # Made once before serving, so the first unknown username costs no more than the rest.
    await asyncio.to_thread(users.dummy_hash)
