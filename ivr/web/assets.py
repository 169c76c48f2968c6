"""The console's scripts and stylesheets, served from ivr/web/static under /static/.

Read once at import: the set of names is fixed, so a request can only ever get one of
these files (no path from the URL reaches the filesystem).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ivr.web.guard import public

STATIC_DIR = Path(__file__).with_name("static")
PREFIX = "/static/"
_TYPES = {".css": "text/css", ".js": "text/javascript"}
_FILES = {
    path.name: (path.read_text(encoding="utf-8"), _TYPES[path.suffix])
    for path in sorted(STATIC_DIR.iterdir())
    if path.suffix in _TYPES
}


def url(name: str) -> str:
    """The URL of a static file; a KeyError for a file that does not exist (a typo)."""
    if name not in _FILES:
        raise KeyError(f"no static file {name!r} in {STATIC_DIR}")
    return PREFIX + name


@public
async def serve(request: web.Request) -> web.Response:
    """One of the console's static files, or 404."""
    found = _FILES.get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound(text="no such file")
    text, content_type = found
    return web.Response(text=text, content_type=content_type, charset="utf-8")


def add_routes(router: web.UrlDispatcher) -> None:
    """Register /static/{name}."""
    router.add_get(PREFIX + "{name}", serve)
