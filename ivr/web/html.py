"""Server-rendered pages: one layout, escaped values, the stylesheet served from /console.css.

No inline styles or scripts (the Content-Security-Policy forbids them) and nothing loaded
from elsewhere. Every value put into a page goes through `escape`.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

STYLESHEET_PATH = "/console.css"
STYLESHEET = """\
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0;
       background: #f4f6f8; color: #1d2733; }
header { background: #8b1a1a; color: #fff; padding: .6rem 1.2rem; display: flex;
         justify-content: space-between; align-items: center; }
header form { margin: 0; }
main { max-width: 42rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
       border-radius: 6px; box-shadow: 0 1px 3px rgba(0, 0, 0, .15); }
label { display: block; margin: .8rem 0 .2rem; }
input[type=text], input[type=password] { width: 100%; padding: .45rem; box-sizing: border-box; }
button { margin-top: 1rem; padding: .45rem 1.4rem; cursor: pointer; }
.error { color: #a40000; background: #fdecec; padding: .5rem .8rem; border-radius: 4px; }
dl { display: grid; grid-template-columns: max-content auto; gap: .4rem 1rem; }
dt { color: #5a6572; }
"""


def page(
    title: str, body: str, *, status: int = 200, header: str = "", csrf_token: str = ""
) -> web.Response:
    """A complete HTML page; `body` and `header` must already be escaped."""
    meta = f'<meta name="csrf-token" content="{escape(csrf_token)}">' if csrf_token else ""
    text = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{meta}
<title>{escape(title)} - 12345 热线</title>
<link rel="stylesheet" href="{STYLESHEET_PATH}">
</head>
<body>
<header><strong>12345 政务服务便民热线</strong>{header}</header>
<main>
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


async def stylesheet(request: web.Request) -> web.Response:
    """The console's only stylesheet."""
    return web.Response(text=STYLESHEET, content_type="text/css", charset="utf-8")


async def no_favicon(request: web.Request) -> web.Response:
    """Browsers ask for /favicon.ico on every page; answer without a 404 in their console."""
    return web.Response(status=204)
