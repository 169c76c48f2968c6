"""The cases synthetic calls leave, and each case's workflow rows (ivr.sim.traffic).

An answered call becomes a registered case: 40 % are answered on the spot (直接答复, archived
at once), 1 % are duplicates merged into an earlier case of the day (并单), the rest are
dispatched (交办) to the category's department, sometimes with a co-handler. A dispatched
case then lives a timeline, each step drawn at random and kept only if it happens before
the plan's `until`: 签收 (mostly on time), sometimes 退单 and 改派, sometimes an approved
extension, 回复 (mostly on time), the next day's 回访 (resolved? satisfied?), and, when the
citizen is not content, rework (重新办理) of up to three more rounds, else the office closes
it; a content case is archived a few days later. No audit events are written: the
statistics never read them.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ivr.cases.taxonomy import load_taxonomy
from ivr.sim.traffic_workflow import Workflow, minutes

if TYPE_CHECKING:
    from ivr.sim.traffic import Traffic

Row = dict[str, Any]
DIRECT_DEPARTMENT = "12345热线直接答复"
CATEGORY_WEIGHTS = {"urban": 20, "utilities": 14, "housing": 10, "transport": 9, "labor": 8}
CATEGORY_WEIGHTS |= {"public_security": 8, "market": 8, "environment": 7, "education": 4}
PRIORITIES, PRIORITY_WEIGHTS = ("normal", "important", "urgent"), (85, 10, 5)


@dataclasses.dataclass
class Ids:
    """The next id of each table the traffic writes."""

    calls: int = 1
    cases: int = 1
    case_assignments: int = 1
    case_replies: int = 1
    case_surveys: int = 1

    def take(self, table: str) -> int:
        """A fresh id for a row of `table`."""
        value: int = getattr(self, table)
        setattr(self, table, value + 1)
        return value


@functools.cache
def catalogue() -> tuple[tuple[str, str], ...]:
    """(department, category) pairs a case can be dispatched as (taxonomy.toml's)."""
    pairs = []
    taxonomy = load_taxonomy()
    for category in taxonomy.categories:
        if category.code == taxonomy.fallback:
            continue
        pairs.append((category.department, category.code))
        pairs.extend((route.department, category.code) for route in category.routes)
    return tuple(pairs)


class CaseMaker:
    """Makes the case (and workflow rows) of each call of one day, into `out`."""

    def __init__(self, rng: random.Random, ids: Ids, until: datetime, out: Traffic) -> None:
        self.rng, self.ids, self.until, self.out = rng, ids, until, out
        self.fallback = load_taxonomy().fallback
        self.departments = sorted({name for name, _ in catalogue()})
        self._dispatched_today: list[int] = []

    def for_call(self, call: Row) -> int | None:
        """The id of the case the call leaves (None: it leaves none)."""
        leader = call.pop("leader_handled")
        created = call["started_at"] + timedelta(seconds=15)
        if call["answered_at"] is None and call["completed_at"] is None:
            if call["outcome"] != "abandoned" or self.rng.random() < 0.5:
                return None
            return int(self._case(call, created, status="draft", abandoned=True)["id"])
        case = self._case(call, created, status="registered", leader=leader)
        self._route(case, call["completed_at"] or call["answered_at"])
        return int(case["id"])

    def _case(
        self,
        call: Row,
        created: datetime,
        *,
        status: str,
        abandoned: bool = False,
        leader: bool = False,
    ) -> Row:
        case_id = self.ids.take("cases")
        department, category = self.rng.choice(catalogue())
        if self.rng.random() < 0.5:  # the catalogue lists every route once: favour the big ones
            category = self.rng.choices(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))[0]
            department = next(d for d, c in catalogue() if c == category)
        row = {
            "id": case_id,
            "number": None if status == "draft" else f"SIM{case_id:010d}",
            "status": status,
            "channel": "phone",
            "caller_number": call["caller_number"],
            "caller_name": None,
            "transcript": "（模拟来电）",
            "transcript_available": True,
            "category": category,
            "department": department,
            "priority": self.rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
            "summary": "模拟诉求",
            "address": None,
            "contact_phone": None,
            "whistleblower": False,
            "abandoned": abandoned,
            "needs_callback": abandoned,
            "leader_handled": leader,
            "query_code_hash": None,
            "merged_into_id": None,
            "kb_article_id": None,
            "first_contact_resolved": False,
            "claimed_by": None,
            "claimed_at": None,
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
        self.out.cases.append(row)
        return row

    def _route(self, case: Row, registered: datetime | None) -> None:
        draw = self.rng.random()
        if draw < 0.4:
            category = self.fallback if self.rng.random() < 0.6 else case["category"]
            case |= {"status": "archived", "first_contact_resolved": True, "category": category}
            case["department"] = DIRECT_DEPARTMENT
        elif draw < 0.41 and self._dispatched_today:
            case |= {"status": "merged", "merged_into_id": self.rng.choice(self._dispatched_today)}
        elif registered is not None:
            self._dispatched_today.append(case["id"])
            Workflow(self, case).run(registered + minutes(self.rng.uniform(2, 180)))
