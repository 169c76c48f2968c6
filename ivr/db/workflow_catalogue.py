"""Departments and the dispatch catalogue (派单目录): who handles which category.

Departments are listed by the office (or seeded from taxonomy.toml, whose category
departments and routes name them); a case is dispatched only to a listed, active one. The
catalogue gives each category a lead department and any co-handlers. When a case is
dispatched without naming a department, the case's own department (what the classifier
suggested and the agent confirmed at registration) leads if it is listed, else the
catalogue's; co-handlers come from the catalogue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.cases.taxonomy import Taxonomy
from ivr.db.calls import Sessions
from ivr.db.workflow_models import Department, DispatchRule, HandlerRole
from ivr.errors import RecordNotFound, StaleEdit, ValidationError
from ivr.workflow import inputs

CATEGORY_LIMIT = 64


@dataclasses.dataclass(frozen=True)
class DepartmentView:
    """A listed department."""

    name: str
    active: bool
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class CatalogueEntry:
    """A category's lead department and co-handlers."""

    category: str
    lead: str
    co: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Seeded:
    """What seeding from the taxonomy added (what was there already is left alone)."""

    departments: tuple[str, ...]
    categories: tuple[str, ...]


async def list_departments(sm: Sessions, *, active_only: bool = False) -> list[DepartmentView]:
    """The listed departments, by name."""
    query = select(Department).order_by(Department.name)
    if active_only:
        query = query.where(Department.active.is_(True))
    async with sm() as session:
        rows = await session.scalars(query)
        return [DepartmentView(row.name, row.active, row.created_at) for row in rows]


async def add_department(sm: Sessions, name: object, *, actor: str, at: datetime) -> DepartmentView:
    """List a department (or bring a deactivated one back)."""
    name = inputs.department_name(name)
    try:
        async with sm.begin() as session:
            row = await session.get(Department, name, with_for_update=True)
            if row is not None and row.active:
                raise ValidationError(f"承办单位“{name}”已在名单中")
            if row is None:
                row = Department(name=name, created_at=at, created_by=actor)
                session.add(row)
            row.active = True
            await session.flush()
            return DepartmentView(row.name, row.active, row.created_at)
    except IntegrityError as exc:  # listed by someone else at the same moment
        raise ValidationError(f"承办单位“{name}”已在名单中") from exc


async def deactivate_department(sm: Sessions, name: str) -> None:
    """Take a department off the list of those cases can go to (its cases stay)."""
    async with sm.begin() as session:
        row = await session.get(Department, name, with_for_update=True)
        if row is None:
            raise RecordNotFound(f"承办单位“{name}”不在名单中")
        row.active = False


async def active_departments(session: AsyncSession, names: Iterable[str]) -> set[str]:
    """Which of `names` are listed and active."""
    wanted = set(names)
    if not wanted:
        return set()
    query = select(Department.name).where(Department.name.in_(wanted), Department.active.is_(True))
    return set(await session.scalars(query))


async def require_departments(session: AsyncSession, names: Sequence[str]) -> None:
    """A ValidationError naming any department that is not listed and active."""
    missing = [name for name in names if name not in await active_departments(session, names)]
    if missing:
        raise ValidationError(
            f"未知或已停用的承办单位：{'、'.join(missing)}（请先在派单目录的单位名单中添加）"
        )


async def catalogue(sm: Sessions) -> list[CatalogueEntry]:
    """The whole dispatch catalogue, by category."""
    async with sm() as session:
        return await catalogue_in(session)


async def catalogue_in(session: AsyncSession, category: str | None = None) -> list[CatalogueEntry]:
    """The catalogue (or one category's entry) inside the caller's transaction."""
    query = select(DispatchRule).order_by(DispatchRule.category, DispatchRule.department)
    if category is not None:
        query = query.where(DispatchRule.category == category)
    leads: dict[str, str] = {}
    co: dict[str, list[str]] = {}
    for rule in await session.scalars(query):
        if rule.role == HandlerRole.LEAD:
            leads[rule.category] = rule.department
        else:
            co.setdefault(rule.category, []).append(rule.department)
    return [CatalogueEntry(c, lead, tuple(co.get(c, ()))) for c, lead in sorted(leads.items())]


async def set_entry(
    sm: Sessions, category: object, lead: object, co: object, *, actor: str, at: datetime
) -> CatalogueEntry:
    """Make `lead` (with `co`) the departments of `category`, replacing its entry."""
    code = inputs.text(category, "分类代码", limit=CATEGORY_LIMIT)
    head = inputs.department_name(lead, "主办单位")
    helpers = inputs.co_handlers(co, head)
    try:
        async with sm.begin() as session:
            await require_departments(session, [head, *helpers])
            await session.execute(delete(DispatchRule).where(DispatchRule.category == code))
            for name, role in [(head, HandlerRole.LEAD), *((h, HandlerRole.CO) for h in helpers)]:
                session.add(_rule(code, name, role, actor, at))
            await session.flush()
    except IntegrityError as exc:  # another office saved this category at the same moment
        raise StaleEdit(f"分类 {code} 的派单目录刚被他人修改，请刷新后重试") from exc
    return CatalogueEntry(code, head, helpers)


async def remove_entry(sm: Sessions, category: str) -> None:
    """Drop a category from the catalogue."""
    async with sm.begin() as session:
        gone = await session.execute(delete(DispatchRule).where(DispatchRule.category == category))
        if not gone.rowcount:  # type: ignore[attr-defined]
            raise RecordNotFound(f"派单目录中没有分类 {category}")


async def seed_from_taxonomy(
    sm: Sessions, taxonomy: Taxonomy, *, actor: str, at: datetime
) -> Seeded:
    """List the taxonomy's departments and give uncatalogued categories their default.

    The fallback category is left out: its "department" is the hotline answering itself.
    """
    wanted = [c for c in taxonomy.categories if c.code != taxonomy.fallback]
    names = dict.fromkeys(
        n for c in wanted for n in (c.department, *(r.department for r in c.routes))
    )
    try:
        async with sm.begin() as session:
            known = set(await session.scalars(select(Department.name)))
            added = [name for name in names if name not in known]
            session.add_all(
                Department(name=n, active=True, created_at=at, created_by=actor) for n in added
            )
            await session.flush()
            listed = set(await session.scalars(select(DispatchRule.category).distinct()))
            new = [c for c in wanted if c.code not in listed]
            session.add_all(_rule(c.code, c.department, HandlerRole.LEAD, actor, at) for c in new)
    except IntegrityError as exc:  # another office seeded at the same moment
        raise StaleEdit("派单目录刚被他人导入或修改，请刷新后查看") from exc
    return Seeded(tuple(added), tuple(c.code for c in new))


def suggestion(
    case_department: str, entry: CatalogueEntry | None, listed: set[str]
) -> tuple[str | None, tuple[str, ...]]:
    """The lead and co-handlers a dispatch defaults to (see the module's docstring)."""
    lead = case_department if case_department in listed else None
    if lead is None and entry is not None:
        lead = entry.lead
    co = tuple(name for name in (entry.co if entry else ()) if name != lead)
    return lead, co


def _rule(
    category: str, department: str, role: HandlerRole, actor: str, at: datetime
) -> DispatchRule:
    return DispatchRule(
        category=category, department=department, role=role.value, updated_at=at, updated_by=actor
    )
