"""The checks on what people type into the workflow: reasons, notes, replies, extension days,
follow-up answers, department names. Each failure is a ValidationError saying what to fix,
in the words the page shows."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from datetime import date

from ivr.errors import ValidationError
from ivr.workflow.deadlines import DeadlinePolicy

REASON_LIMIT = 1000
NOTE_LIMIT = 2000
RESULT_LIMIT = 4000
HANDLER_LIMIT = 64
DEPARTMENT_LIMIT = 128
MAX_CO_HANDLERS = 10


def text(value: object, label: str, *, limit: int) -> str:
    """Required text, trimmed: not empty, not too long, no NUL (PostgreSQL refuses it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(f"{label}不能为空")
    if not isinstance(value, str):
        raise ValidationError(f"{label}应为文字")
    if "\x00" in value:
        raise ValidationError(f"{label}含有非法字符")
    trimmed = value.strip()
    if len(trimmed) > limit:
        raise ValidationError(f"{label}不能超过 {limit} 个字")
    return trimmed


def optional_text(value: object, label: str, *, limit: int) -> str | None:
    """Text that may be left out (None or blank gives None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return text(value, label, limit=limit)


def reason(value: object, label: str = "理由") -> str:
    """A required reason (退单、驳回、延期、改派…)."""
    return text(value, label, limit=REASON_LIMIT)


@dataclasses.dataclass(frozen=True)
class ReplyInput:
    """回复: what was done, who handled it, and on which day; all three are required."""

    result: str
    handler: str
    handled_on: date


def reply_input(result: object, handler: object, handled_on: object) -> ReplyInput:
    """A reply from the form's values (the date as a date or as YYYY-MM-DD)."""
    return ReplyInput(
        result=text(result, "办理结果", limit=RESULT_LIMIT),
        handler=text(handler, "经办人", limit=HANDLER_LIMIT),
        handled_on=a_date(handled_on, "办结日期"),
    )


def a_date(value: object, label: str) -> date:
    """A date given as a date or as YYYY-MM-DD text."""
    if isinstance(value, date):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(f"{label}不能为空")
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"{label}应写成 YYYY-MM-DD，如 2031-03-05") from None


def check_handled_on(handled_on: date, *, today: date, dispatched_on: date) -> None:
    """The day a case was handled lies between its dispatch and today."""
    if handled_on > today:
        raise ValidationError(f"办结日期 {handled_on} 不能晚于今天（{today}）")
    if handled_on < dispatched_on:
        raise ValidationError(f"办结日期 {handled_on} 不能早于交办日期（{dispatched_on}）")


def extension_days(value: object, policy: DeadlinePolicy) -> int:
    """Working days asked for: a whole number from 1 to the policy's maximum."""
    most = policy.max_extension_working_days
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"延期天数应为 1 到 {most} 的整数（工作日）")
    if not 1 <= value <= most:
        raise ValidationError(f"延期最多 {most} 个工作日，申请了 {value} 个")
    return value


class Satisfaction(enum.StrEnum):
    """满意 / 基本满意 / 不满意, as the citizen answers the follow-up call."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


SATISFACTION_LABELS = {
    Satisfaction.SATISFIED: "满意",
    Satisfaction.BASICALLY_SATISFIED: "基本满意",
    Satisfaction.UNSATISFIED: "不满意",
}


@dataclasses.dataclass(frozen=True)
class Survey:
    """The citizen's answers on the follow-up (回访): resolved? satisfied? in their words."""

    resolved: bool
    satisfaction: Satisfaction
    citizen_words: str | None = None

    @property
    def content(self) -> bool:
        """Resolved and at least basically satisfied: nothing more to do."""
        return self.resolved and self.satisfaction is not Satisfaction.UNSATISFIED


def survey_input(resolved: object, satisfaction: object, citizen_words: object) -> Survey:
    """The answers from a form or the follow-up call; the words are needed for a rework."""
    if not isinstance(resolved, bool):
        raise ValidationError("问题是否解决：请选择“已解决”或“未解决”")
    try:
        level = Satisfaction(str(satisfaction))
    except ValueError:
        choices = "、".join(f"{k.value}（{v}）" for k, v in SATISFACTION_LABELS.items())
        raise ValidationError(f"满意度应为 {choices} 之一") from None
    words = optional_text(citizen_words, "市民意见", limit=NOTE_LIMIT)
    survey = Survey(resolved, level, words)
    if not survey.content and words is None:
        raise ValidationError(
            "市民不满意或问题未解决时，请记录市民的原话（重新办理时交给承办单位）"
        )
    return survey


def department_name(value: object, label: str = "承办单位") -> str:
    """A department's name as the catalogue and users spell it."""
    return text(value, label, limit=DEPARTMENT_LIMIT)


def co_handlers(values: object, lead: str) -> tuple[str, ...]:
    """Co-handling departments: a list of names, without the lead or repeats."""
    if values is None:
        return ()
    if not isinstance(values, list | tuple):
        raise ValidationError("协办单位应为单位名称的列表")
    names = _unique(department_name(value, "协办单位") for value in values)
    if lead in names:
        raise ValidationError(f"{lead} 已是主办单位，不能同时协办")
    if len(names) > MAX_CO_HANDLERS:
        raise ValidationError(f"协办单位最多 {MAX_CO_HANDLERS} 个")
    return names


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
