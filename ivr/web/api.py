"""The console's JSON API: /api/me so far. Errors come back as `{"error": "..."}`."""

from __future__ import annotations

from aiohttp import web

from ivr.db.models import Role
from ivr.web.guard import logged_in, require_role


@require_role(*Role)
async def me(request: web.Request) -> web.StreamResponse:
    """Who is logged in: never the password hash, never the session token."""
    user = logged_in(request).user
    return web.json_response(
        {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "interface": user.interface,
            "department": user.department,
        }
    )
