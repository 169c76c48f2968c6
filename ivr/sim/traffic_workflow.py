"""The workflow a synthetic dispatched case lives (ivr.sim.traffic_cases): rounds of 交办,
签收 or 退单 and 改派, an extension now and then, 回复, the next day's 回访, and rework
(重新办理) when the citizen is not content; every step kept only if it happens before the
plan's `until`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivr.sim.traffic_cases import CaseMaker

Row = dict[str, Any]
SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")
MAX_ROUNDS = 4
OFFICE = "sim-office"


def minutes(n: float) -> timedelta:
    """`n` minutes."""
    return timedelta(minutes=n)


class Workflow:
    """One dispatched case's rounds, until it closes or the world stops."""

    def __init__(self, maker: CaseMaker, case: Row) -> None:
        self.maker, self.case, self.rng = maker, case, maker.rng
        self.rows: list[Row] = []

    def run(self, start: datetime) -> None:
        """Play the rounds from the first dispatch at `start`."""
        at: datetime | None = start
        kind, lead = "dispatch", self.case["department"]
        co = self._other(lead) if self.rng.random() < 0.15 else None
        for number in range(1, MAX_ROUNDS + 1):
            if at is None or at >= self.maker.until:
                break
            at, kind, lead = self._round(number, kind, lead, co, at)
            co = None
        for row in self.rows:
            row["current"] = row["round"] == self.rows[-1]["round"] and row["withdrawn_at"] is None
        self.maker.out.case_assignments.extend(self.rows)

    def _round(
        self, number: int, kind: str, lead: str, co: str | None, at: datetime
    ) -> tuple[datetime | None, str, str]:
        # the time, kind and department of the next round, or None when there is none
        self.case |= {"status": "dispatched", "department": lead, "updated_at": at}
        head = self._assignment(number, kind, lead, "lead", at)
        if co is not None:
            self._accept(self._assignment(number, kind, co, "co", at))
        if kind != "rework" and number < MAX_ROUNDS and self.rng.random() < 0.03:
            return self._returned(head)
        if not self._accept(head):
            return None, kind, lead
        self.case["status"] = "handling"
        self._maybe_extend(head)
        replied = self._reply(head)
        if replied is None:
            return None, kind, lead
        return self._survey(head, replied, number), "rework", lead

    def _assignment(self, number: int, kind: str, department: str, role: str, at: datetime) -> Row:
        span = minutes(15) if self.case["priority"] == "urgent" else timedelta(days=1)
        if self.case["category"] == "utilities" and self.case["priority"] != "urgent":
            span = minutes(30)
        row = {
            "id": self.maker.ids.take("case_assignments"),
            "case_id": self.case["id"],
            "department": department,
            "role": role,
            "round": number,
            "kind": kind,
            "current": False,
            "instructions": None,
            "dispatched_at": at,
            "dispatched_by": OFFICE,
            "accept_due": at + span,
            "reply_due": at + timedelta(days=7),
            "return_until": at + timedelta(days=2),
        }
        row |= dict.fromkeys(("accepted_at", "accepted_by", "returned_at", "returned_by"))
        row |= dict.fromkeys(("return_reason", "return_rejected_at", "withdrawn_at", "replied_at"))
        self.rows.append(row)
        return row

    def _accept(self, row: Row) -> bool:
        span = row["accept_due"] - row["dispatched_at"]
        if self.rng.random() < 0.9:
            at = row["dispatched_at"] + span * self.rng.uniform(0.05, 0.95)
        else:
            at = row["accept_due"] + minutes(self.rng.uniform(5, 1440))
        if at >= self.maker.until:
            return False
        row |= {"accepted_at": at, "accepted_by": f"sim-{row['department']}"}
        return True

    def _returned(self, row: Row) -> tuple[datetime | None, str, str]:
        back = row["dispatched_at"] + minutes(self.rng.uniform(10, 1200))
        if back >= self.maker.until:
            return None, "redispatch", row["department"]
        row |= {"returned_at": back, "returned_by": f"sim-{row['department']}"}
        row["return_reason"] = "不属于本单位职责"
        self.case["status"] = "returned"
        again = back + minutes(self.rng.uniform(10, 300))
        if again >= self.maker.until:
            return None, "redispatch", row["department"]
        for mine in self.rows:
            if mine["round"] == row["round"]:
                mine["withdrawn_at"] = again
        return again, "redispatch", self._other(row["department"])

    def _maybe_extend(self, row: Row) -> None:
        approved = row["accepted_at"] + timedelta(days=1)
        if self.rng.random() < 0.05 and approved < self.maker.until:
            for mine in self.rows:  # co-handlers work to the same deadline
                if mine["round"] == row["round"]:
                    mine["reply_due"] += timedelta(days=7)

    def _reply(self, row: Row) -> datetime | None:
        at: datetime
        if self.rng.random() < 0.88:
            at = row["accepted_at"] + (row["reply_due"] - row["accepted_at"]) * self.rng.uniform(
                0.2, 0.95
            )
        else:
            at = row["reply_due"] + minutes(self.rng.uniform(60, 11_520))
        if at >= self.maker.until:
            return None
        row["replied_at"] = at
        self.case |= {"status": "replied", "updated_at": at}
        self.maker.out.case_replies.append(
            {
                "id": self.maker.ids.take("case_replies"),
                "case_id": self.case["id"],
                "assignment_id": row["id"],
                "department": row["department"],
                "round": row["round"],
                "result": "已处理",
                "handler": "经办人",
                "handled_on": at.date(),
                "written_by": f"sim-{row['department']}",
                "written_at": at,
            }
        )
        return at

    def _survey(self, row: Row, replied: datetime, number: int) -> datetime | None:
        at: datetime = replied + minutes(self.rng.uniform(960, 2400))
        if at >= self.maker.until:
            return None
        resolved = self.rng.random() < 0.88
        weights = (78, 17, 5) if resolved else (10, 30, 60)
        satisfaction = self.rng.choices(SATISFACTION, weights)[0]
        content = resolved and satisfaction != "unsatisfied"
        rework = not content and number < MAX_ROUNDS and self.rng.random() < 0.7
        self.maker.out.case_surveys.append(
            {
                "id": self.maker.ids.take("case_surveys"),
                "case_id": self.case["id"],
                "round": number,
                "at": at,
                "actor": "ivr",
                "resolved": resolved,
                "satisfaction": satisfaction,
                "citizen_words": None if content else "问题没有解决",
                "override_reason": None if content or rework else "已向市民解释",
                "reopened": rework,
            }
        )
        self.case |= {"status": "followed_up", "updated_at": at}
        if rework:
            return at + minutes(self.rng.uniform(5, 120))
        archived = at + timedelta(days=self.rng.uniform(1, 5))
        if self.rng.random() < 0.6 and archived < self.maker.until:
            self.case |= {"status": "archived", "updated_at": archived}
        return None

    def _other(self, department: str) -> str:
        return self.rng.choice([d for d in self.maker.departments if d != department])
