"""How every response leaves: security headers always, errors as JSON for /api/* and as a
page otherwise, and an unexpected exception logged once instead of shown."""

from __future__ import annotations

import structlog
from aiohttp import web

from ivr.web.guard import Handler, is_api
from ivr.web.html import error_box, page

log = structlog.get_logger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
ERROR_TITLES = {
    400: "请求有误",
    401: "未登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持此操作",
    413: "提交的内容过大",
    429: "请稍后再试",
}
# Headers of an HTTP error that still mean something once the body is rewritten.
_KEPT_HEADERS = frozenset({"allow", "retry-after", "www-authenticate"})


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Signal handler: the same protective headers on every response, errors included."""
    response.headers.update(SECURITY_HEADERS)
    # Pages show who is logged in and case data: no shared or back-button caches.
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn HTTP errors into JSON `{"error": ...}` (API) or a short page (browser)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {k: v for k, v in exc.headers.items() if k.lower() in _KEPT_HEADERS}
        return error_response(request, exc.status, exc.text or exc.reason, kept)
    except Exception:
        log.exception("web_request_failed", method=request.method, path=request.path)
        return error_response(request, 500, "internal error")


def error_response(
    request: web.Request,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error in the form the client reads: JSON for the API, HTML for a browser page."""
    if is_api(request):
        response = web.json_response({"error": message}, status=status)
    else:
        title = ERROR_TITLES.get(status, "出错了")
        body = error_box(message) + '<p><a href="/">返回首页</a></p>'
        response = page(title, body, status=status)
    if headers:
        response.headers.update(headers)
    return response
