"""aiohttp application factory. Case data is not served until the console has logins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

HealthProbe = Callable[[], dict[str, Any]]
health_key: web.AppKey[HealthProbe] = web.AppKey("health")


async def healthz(request: web.Request) -> web.Response:
    """Liveness and readiness: 200 when AMI is logged in and AGI listens, else 503."""
    report = request.app[health_key]()
    status = 200 if all(report.values()) else 503
    return web.json_response(report, status=status)


def make_app(health: HealthProbe) -> web.Application:
    """Build the web application."""
    app = web.Application(client_max_size=64 * 1024)
    app[health_key] = health
    app.router.add_get("/healthz", healthz)
    return app
