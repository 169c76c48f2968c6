"""The knowledge base's JSON API (知识库), and answering a consultation with an article.

GET   /api/kb/search?q=...&limit=N    articles in force answering the words, ranked, with the
                                      matched words (everyone logged in)
GET   /api/kb/articles                office: all; department: its own; agents, leaders: in force
GET   /api/kb/articles/{id}           one article (agents and leaders: only one in force)
POST  /api/kb/articles                office: {title, body, kind, category, owner,
                                      valid_from?, valid_until?} → 201
PATCH /api/kb/articles/{id}           office, or the owning department: {version, fields...}
POST  /api/kb/articles/{id}/retire    office {version}: agents no longer see it
POST  /api/kb/articles/{id}/restore   office {version}
GET   /api/cases/{id}/kb-suggestions  the articles suggested for a case (as its pop has them)
POST  /api/cases/{id}/answer          {version, fields, article_id}: 以此答复, a consultation
                                      registered and archived at once (agents, leaders, office)

Errors are {"error": "..."} in Chinese: 400 a missing, overlong or malformed field, an
unknown kind or category, a bad date, valid_until before valid_from, an article not in
force; 403 not this role's (a department editing another's article); 404 no such article;
409 edited by someone else since it was loaded; 413 a body over 64 KB. A refused request
writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog
from aiohttp import web

from ivr.cases.taxonomy import load_taxonomy
from ivr.db import cases, kb, registration
from ivr.db.kb import KbSearch
from ivr.db.models import Role
from ivr.db.users import UserView
from ivr.errors import StaleEdit
from ivr.kb.articles import Article, article_fields, consultation
from ivr.web import kb_pages
from ivr.web.case_json import case_json, holds
from ivr.web.cases_api import announce_closed, path_id, registration_asked
from ivr.web.duty_json import query_number
from ivr.web.guard import logged_in, require_role, signed
from ivr.web.kb_json import (
    article_id,
    article_json,
    body_of,
    hit_json,
    refusals,
    today,
    version_of,
)
from ivr.web.state import clock_key, db_key, policy_key
from ivr.workflow.transitions import Party

log = structlog.get_logger(__name__)

kb_key: web.AppKey[KbSearch] = web.AppKey("kb_search")
ARTICLE = "/api/kb/articles/{article_id}"
READERS = (Role.AGENT, Role.LEADER, Role.OFFICE, Role.DEPARTMENT)
CALL_TAKERS = (Role.AGENT, Role.LEADER, Role.OFFICE)
QUERY_LIMIT = 200  # characters of a typed question (a case's words are searched server-side)
SUGGESTED, SUGGEST_SHARE = 3, 0.35  # a pop's suggestions: the best three, none far behind


def add_routes(app: web.Application) -> None:
    """Register the knowledge base's API and pages, with this process's search index."""
    app[kb_key] = KbSearch(app[db_key], _tokenizer)
    router = app.router
    router.add_get("/api/kb/search", search)
    router.add_get("/api/kb/articles", list_articles)
    router.add_post("/api/kb/articles", create_article)
    router.add_get(ARTICLE, get_article)
    router.add_patch(ARTICLE, update_article)
    router.add_post(ARTICLE + "/retire", retire_article)
    router.add_post(ARTICLE + "/restore", restore_article)
    router.add_get("/api/cases/{case_id}/kb-suggestions", case_suggestions)
    router.add_post("/api/cases/{case_id}/answer", answer_case)
    kb_pages.add_routes(router)


@require_role(*READERS)
async def search(request: web.Request) -> web.StreamResponse:
    """The articles in force that answer the words of `q`, best first."""
    words = request.query.get("q", "").strip()
    if len(words) > QUERY_LIMIT:
        raise web.HTTPBadRequest(text=f"搜索内容不能超过 {QUERY_LIMIT} 个字")
    limit = query_number(request, "limit", 10, 50)
    hits = await request.config_dict[kb_key].search(words, today(request.config_dict), limit=limit)
    return web.json_response({"q": words, "results": [hit_json(hit) for hit in hits]})


@require_role(*READERS)
async def list_articles(request: web.Request) -> web.StreamResponse:
    """The articles this user looks after, or (agents, leaders) those in force."""
    user, db = logged_in(request).user, request.config_dict[db_key]
    if user.role in (Role.AGENT, Role.LEADER):
        index = await request.config_dict[kb_key].index(today(request.config_dict))
        found = sorted((doc.article for doc in index.docs), key=lambda a: a.id)
    else:
        mine = (user.department or "") if user.role is Role.DEPARTMENT else None
        found = await kb.list_articles(db, owner=mine)
    day = today(request.config_dict)
    return web.json_response({"articles": [article_json(a, day) for a in found]})


@require_role(*READERS)
async def get_article(request: web.Request) -> web.StreamResponse:
    """One article; agents and leaders see only those in force."""
    found, day = await _article(request), today(request.config_dict)
    if logged_in(request).user.role in (Role.AGENT, Role.LEADER) and not found.in_force(day):
        raise web.HTTPNotFound(text="这篇文章已停用或不在有效期内")
    return web.json_response({"article": article_json(found, day)})


@require_role(Role.OFFICE)
async def create_article(request: web.Request) -> web.StreamResponse:
    """Write a new article."""
    body = await body_of(request)
    search_index = request.config_dict[kb_key]
    with refusals():
        fields = article_fields(body, await _categories())
        words = await search_index.words_of(fields)
        created = await kb.create_article(
            request.config_dict[db_key], fields, words, **signed(request)
        )
    answer = {"article": article_json(created, today(request.config_dict))}
    return web.json_response(answer, status=201)


@require_role(Role.OFFICE, Role.DEPARTMENT)
async def update_article(request: web.Request) -> web.StreamResponse:
    """Edit an article (a department only its own, and it stays its own)."""
    body, current = await body_of(request), await _article(request)
    version = version_of(body.pop("version", None))
    _may_edit(logged_in(request).user, current, body)
    with refusals():
        if version != current.version:  # cheaper than cutting words to be refused afterwards
            raise StaleEdit(f"文章已被他人修改（现在是第 {current.version} 版），请刷新后重新编辑")
        fields = article_fields(body, await _categories(), base=current)
        words = await request.config_dict[kb_key].words_of(fields)
        saved = await kb.update_article(
            request.config_dict[db_key],
            current.id,
            fields,
            words,
            expected_version=version,
            **signed(request),
        )
    return web.json_response({"article": article_json(saved, today(request.config_dict))})


@require_role(Role.OFFICE)
async def retire_article(request: web.Request) -> web.StreamResponse:
    """Take an article out of use: agents no longer find or answer with it."""
    return await _set_active(request, active=False)


@require_role(Role.OFFICE)
async def restore_article(request: web.Request) -> web.StreamResponse:
    """Put a retired article back in use."""
    return await _set_active(request, active=True)


async def _set_active(request: web.Request, *, active: bool) -> web.StreamResponse:
    version = version_of((await body_of(request)).get("version"))
    with refusals():
        saved = await kb.set_active(
            request.config_dict[db_key],
            article_id(request),
            active,
            expected_version=version,
            **signed(request),
        )
    return web.json_response({"article": article_json(saved, today(request.config_dict))})


@require_role(*CALL_TAKERS)
async def case_suggestions(request: web.Request) -> web.StreamResponse:
    """The articles suggested for a case the user works (what its pop carries)."""
    db, user = request.config_dict[db_key], logged_in(request).user
    case_id = path_id(request, "case_id")
    with refusals():
        found = await cases.get_case(db, case_id)
    shown = case_json(found, user, holds=await holds(db, user, case_id))
    return web.json_response({"suggestions": await suggest(request, shown)})


@require_role(*CALL_TAKERS)
async def answer_case(request: web.Request) -> web.StreamResponse:
    """以此答复: the draft registered as a consultation answered with an article, and closed."""
    db, user = request.config_dict[db_key], logged_in(request).user
    case_id = path_id(request, "case_id")
    asked = await registration_asked(request, case_id)
    with refusals():
        done = await registration.answer_with_article(
            db,
            case_id,
            actor=user.username,
            party=Party.of(user.role),
            article_id=asked.body.get("article_id"),
            edits=asked.fields,
            expected_version=asked.version,
            consultation=consultation(await asyncio.to_thread(load_taxonomy)),
            at=request.config_dict[clock_key](),
            today=today(request.config_dict),
            timezone=request.config_dict[policy_key].timezone.key,
        )
    await announce_closed(request, done.closed_pops)
    article = article_json(done.article, today(request.config_dict))
    return web.json_response({"case": case_json(done.case, user, holds=True), "article": article})


async def suggest(request: web.Request, case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The best articles for what a case says (as the viewer sees it), for its pop."""
    text = " ".join(str(case.get(name) or "") for name in ("summary", "transcript"))
    search_index = request.config_dict.get(kb_key)
    if search_index is None or not text.strip():
        return []
    try:
        hits = await search_index.search(
            text, today(request.config_dict), limit=SUGGESTED, min_share=SUGGEST_SHARE
        )
    except Exception:  # suggestions are a help: a pop must never be lost over them
        log.exception("kb_suggestions_failed", case_id=case.get("id"))
        return []
    return [hit_json(hit) for hit in hits]


def _tokenizer() -> Any:
    # the taxonomy's: it knows the hotline's words; loaded once per process, in a worker thread
    return load_taxonomy().tokenizer


async def _categories() -> frozenset[str]:
    taxonomy = await asyncio.to_thread(load_taxonomy)
    return frozenset(category.code for category in taxonomy.categories)


async def _article(request: web.Request) -> Article:
    with refusals():
        return await kb.get_article(request.config_dict[db_key], article_id(request))


def _may_edit(user: UserView, article: Article, body: Mapping[str, Any]) -> None:
    if user.role is not Role.DEPARTMENT:
        return
    if article.owner != user.department or body.get("owner", article.owner) != article.owner:
        raise web.HTTPForbidden(text="承办单位只能修改本单位负责的文章，且不能改动责任单位")
