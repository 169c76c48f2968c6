"""Whether a request's Origin is this console's own site.

Behind a TLS proxy the public origin differs from what this process sees:
settings.web_public_origin (ConsolePolicy.public_origin) names it; otherwise the request's
own scheme and host are the site.
"""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from ivr.web.state import policy_key


def is_own_site(request: web.Request, origin: str) -> bool:
    """Whether `origin` (an Origin header's value) is this console's site."""
    expected = request.config_dict[policy_key].public_origin or _normal(
        f"{request.scheme}://{request.host}"
    )
    return bool(expected) and _normal(origin) == expected


def _normal(origin: str) -> str:
    """scheme://host:port with the port spelled out; "" for anything unparseable."""
    try:
        url = URL(origin)
        return f"{url.scheme}://{url.host}:{url.port}" if url.host else ""
    except ValueError:
        return ""
