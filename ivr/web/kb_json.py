"""The knowledge base API's JSON: articles and search results out, request bodies in, the
domain's refusals as HTTP errors with their Chinese messages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from aiohttp import ChainMapProxy, web

from ivr.errors import RecordNotFound, StaleEdit, ValidationError
from ivr.kb.articles import KIND_LABELS, Article
from ivr.kb.ranking import Hit, excerpt
from ivr.web.case_json import iso
from ivr.web.cases_api import json_body, path_id
from ivr.web.state import clock_key, policy_key
from ivr.workflow.transitions import ActionRefused, RefusalKind


def today(app: web.Application | ChainMapProxy) -> date:
    """The office's date now (Asia/Shanghai unless the settings say otherwise), by the
    clock and zone of `app` (an application or a request's `config_dict`)."""
    return app[clock_key]().astimezone(app[policy_key].timezone).date()


def article_json(article: Article, day: date) -> dict[str, Any]:
    """An article as the API shows it, with whether it is in force on `day`."""
    return {
        "id": article.id,
        "title": article.title,
        "body": article.body,
        "kind": article.kind.value,
        "kind_label": KIND_LABELS[article.kind],
        "category": article.category,
        "owner": article.owner,
        "valid_from": article.valid_from.isoformat() if article.valid_from else None,
        "valid_until": article.valid_until.isoformat() if article.valid_until else None,
        "active": article.active,
        "in_force": article.in_force(day),
        "version": article.version,
        "updated_at": iso(article.updated_at),
        "updated_by": article.updated_by,
    }


def hit_json(hit: Hit) -> dict[str, Any]:
    """A search result: the article in short, its score and the words to highlight."""
    article = hit.article
    return {
        "id": article.id,
        "title": article.title,
        "kind": article.kind.value,
        "kind_label": KIND_LABELS[article.kind],
        "owner": article.owner,
        "excerpt": excerpt(article.body, hit.words),
        "score": hit.score,
        "words": list(hit.words),
    }


def article_id(request: web.Request) -> int:
    """The article's id from the URL; 404 for anything else."""
    try:
        return path_id(request, "article_id")
    except web.HTTPNotFound:
        raise web.HTTPNotFound(text="没有这篇知识库文章") from None


async def body_of(request: web.Request) -> dict[str, Any]:
    """The request's JSON object: json_body's checks, said in Chinese for the office's page."""
    try:
        return await json_body(request)
    except web.HTTPRequestEntityTooLarge:
        limit = request.client_max_size
        raise web.HTTPRequestEntityTooLarge(
            limit, text=f"提交的内容过大（不能超过 {limit // 1024} KB）"
        ) from None
    except web.HTTPBadRequest:
        raise web.HTTPBadRequest(text="提交的内容不是有效的 JSON 对象") from None


def version_of(value: object) -> int:
    """The version an edit was made on, or 400."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise web.HTTPBadRequest(text="请附上所编辑文章的版本号 version（整数）")
    return value


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """The domain's refusals as HTTP errors (403/409, 400, 404, 409)."""
    try:
        yield
    except ActionRefused as exc:
        forbidden = exc.kind is RefusalKind.FORBIDDEN
        raise (web.HTTPForbidden if forbidden else web.HTTPConflict)(text=str(exc)) from exc
    except (ValidationError, RecordNotFound, StaleEdit) as exc:
        raise _AS_HTTP[type(exc)](text=str(exc)) from exc


_AS_HTTP: Mapping[type[Exception], type[web.HTTPException]] = {
    ValidationError: web.HTTPBadRequest,
    RecordNotFound: web.HTTPNotFound,
    StaleEdit: web.HTTPConflict,
}
