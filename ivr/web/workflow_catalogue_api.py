"""The office's departments list and dispatch catalogue (派单目录), as JSON.

GET    /api/workflow/departments             the listed departments
POST   /api/workflow/departments             {name}: list one (or bring it back)
DELETE /api/workflow/departments/{name}      take one off (its cases stay with it)
GET    /api/workflow/catalogue               every category's lead and co-handlers
PUT    /api/workflow/catalogue/{category}    {lead, co?}: set a category's departments
DELETE /api/workflow/catalogue/{category}    drop a category from the catalogue
POST   /api/workflow/catalogue/seed          list taxonomy.toml's departments and defaults

All the office's. Errors: 400 a bad or unknown name, 404 nothing to delete, 409 another
office saved the same category at the same moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from ivr.cases.taxonomy import load_taxonomy
from ivr.db import workflow_catalogue as catalogue
from ivr.db.calls import Sessions
from ivr.db.models import Role
from ivr.errors import RecordNotFound, StaleEdit, ValidationError
from ivr.web.cases_api import json_body
from ivr.web.guard import require_role, signed
from ivr.web.state import db_key


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the departments and catalogue API."""
    router.add_get("/api/workflow/departments", list_departments)
    router.add_post("/api/workflow/departments", add_department)
    router.add_delete("/api/workflow/departments/{name}", deactivate_department)
    router.add_get("/api/workflow/catalogue", get_catalogue)
    router.add_post("/api/workflow/catalogue/seed", seed_catalogue)
    router.add_put("/api/workflow/catalogue/{category}", set_entry)
    router.add_delete("/api/workflow/catalogue/{category}", remove_entry)


@require_role(Role.OFFICE)
async def list_departments(request: web.Request) -> web.StreamResponse:
    """The listed departments, active or not."""
    found = await catalogue.list_departments(_db(request))
    return web.json_response({"departments": [_department(d) for d in found]})


@require_role(Role.OFFICE)
async def add_department(request: web.Request) -> web.StreamResponse:
    """List a department."""
    name = (await json_body(request)).get("name")
    with _translated():
        added = await catalogue.add_department(_db(request), name, **signed(request))
    return web.json_response({"department": _department(added)}, status=201)


@require_role(Role.OFFICE)
async def deactivate_department(request: web.Request) -> web.StreamResponse:
    """Take a department off the list cases can be sent to."""
    name = request.match_info["name"]
    with _translated():
        await catalogue.deactivate_department(_db(request), name)
    return web.json_response({"deactivated": name})


@require_role(Role.OFFICE)
async def get_catalogue(request: web.Request) -> web.StreamResponse:
    """The dispatch catalogue."""
    entries = await catalogue.catalogue(_db(request))
    return web.json_response({"catalogue": [_entry(e) for e in entries]})


@require_role(Role.OFFICE)
async def set_entry(request: web.Request) -> web.StreamResponse:
    """Set a category's lead department and co-handlers."""
    body, category = await json_body(request), request.match_info["category"]
    with _translated():
        entry = await catalogue.set_entry(
            _db(request), category, body.get("lead"), body.get("co"), **signed(request)
        )
    return web.json_response({"entry": _entry(entry)})


@require_role(Role.OFFICE)
async def remove_entry(request: web.Request) -> web.StreamResponse:
    """Drop a category from the catalogue."""
    category = request.match_info["category"]
    with _translated():
        await catalogue.remove_entry(_db(request), category)
    return web.json_response({"removed": category})


@require_role(Role.OFFICE)
async def seed_catalogue(request: web.Request) -> web.StreamResponse:
    """List taxonomy.toml's departments and give uncatalogued categories their default."""
    taxonomy = await asyncio.to_thread(load_taxonomy)  # the first load builds a tokenizer
    seeded = await catalogue.seed_from_taxonomy(_db(request), taxonomy, **signed(request))
    return web.json_response(
        {"departments": list(seeded.departments), "categories": list(seeded.categories)}
    )


def _db(request: web.Request) -> Sessions:
    return request.config_dict[db_key]


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    # domain errors as HTTP errors, for the handlers above
    try:
        yield
    except ValidationError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    except RecordNotFound as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    except StaleEdit as exc:
        raise web.HTTPConflict(text=str(exc)) from exc


def _department(found: catalogue.DepartmentView) -> dict[str, Any]:
    return {"name": found.name, "active": found.active, "created_at": found.created_at.isoformat()}


def _entry(entry: catalogue.CatalogueEntry) -> dict[str, Any]:
    return {**dataclasses.asdict(entry), "co": list(entry.co)}
