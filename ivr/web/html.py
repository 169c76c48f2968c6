"""Server-rendered pages: one layout, escaped values, scripts and styles from /static/.

No inline styles or scripts (the Content-Security-Policy forbids them) and nothing loaded
from elsewhere. Every value put into a page goes through `escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aiohttp import web

from ivr.web import assets

STYLESHEET = "console.css"


def page(
    title: str,
    body: str,
    *,
    status: int = 200,
    header: str = "",
    csrf_token: str = "",
    scripts: Sequence[str] = (),
    styles: Sequence[str] = (),
    wide: bool = False,
) -> web.Response:
    """A complete HTML page; `body` and `header` must already be escaped.

    `scripts` and `styles` name files in ivr/web/static (the CSP forbids inline ones);
    `wide` gives the page the whole window (the agent console, the wallboard).
    """
    meta = f'<meta name="csrf-token" content="{escape(csrf_token)}">' if csrf_token else ""
    links = "".join(
        f'<link rel="stylesheet" href="{assets.url(name)}">\n' for name in (STYLESHEET, *styles)
    )
    links += "".join(f'<script src="{assets.url(name)}" defer></script>\n' for name in scripts)
    main = '<main class="wide">' if wide else "<main>"
    text = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{meta}
<title>{escape(title)} - 12345 热线</title>
{links}</head>
<body>
<header><strong>12345 政务服务便民热线</strong>{header}</header>
{main}
<h1>{escape(title)}</h1>
{body}
</main>
</body>
</html>
"""
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def error_box(message: str) -> str:
    """An error message shown above a form or alone."""
    return f'<p class="error" role="alert">{escape(message)}</p>' if message else ""


def hidden_csrf(token: str) -> str:
    """The hidden form field that carries the CSRF token."""
    return f'<input type="hidden" name="csrf_token" value="{escape(token)}">'


async def no_favicon(request: web.Request) -> web.Response:
    """Browsers ask for /favicon.ico on every page; answer without a 404 in their console."""
    return web.Response(status=204)
