"""The case fields a person or the IVR may set, and the checks every value goes through.

Names, types, lengths and choices come from the `Case` columns, so the checks cannot drift
from the table; a value that would fail in the database (a NUL byte on PostgreSQL) fails here
with a message instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import inspect

from ivr.db.models import Case, CaseChannel, Priority
from ivr.errors import ValidationError

# What an agent may correct when registering; status and number follow the workflow.
EDITABLE_FIELDS = frozenset(
    {"caller_name", "contact_phone", "address", "category", "department", "priority"}
    | {"summary", "transcript", "whistleblower", "leader_handled", "needs_callback"}
)
# What the IVR (or a fallback handler) fills in when it drafts a case.
DRAFT_FIELDS = frozenset(
    {"caller_number", "transcript", "transcript_available", "category", "department"}
    | {"priority", "summary", "address", "contact_phone", "abandoned", "needs_callback"}
    | {"channel"}
)
_CHOICES: Mapping[str, type[Priority] | type[CaseChannel]] = {
    "priority": Priority,
    "channel": CaseChannel,
}


def validate_fields(values: Mapping[str, object], allowed: frozenset[str]) -> dict[str, object]:
    """Check names, types, lengths and choices against the case columns."""
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValidationError(
            f"cannot set {', '.join(unknown)} on a case; allowed: {', '.join(sorted(allowed))}"
        )
    return {name: _checked(name, value) for name, value in values.items()}


def _checked(name: str, value: object) -> object:
    column = inspect(Case).columns[name]
    if value is None:
        if column.nullable:
            return None
        raise ValidationError(f"{name} cannot be empty")
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError(f"{name} contains a NUL character")
    if name in _CHOICES:
        choices = _CHOICES[name]
        if not isinstance(value, str) or value not in {c.value for c in choices}:
            raise ValidationError(f"{name} must be one of {', '.join(c.value for c in choices)}")
        return str(value)
    kind = column.type.python_type
    if not isinstance(value, kind):
        raise ValidationError(f"{name} must be a {kind.__name__}, not {type(value).__name__}")
    length = getattr(column.type, "length", None)
    if isinstance(value, str) and length is not None and len(value) > length:
        raise ValidationError(f"{name} is longer than {length} characters")
    return value
