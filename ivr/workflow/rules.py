"""The rules a center runs its workflow by: deadlines, urging, working hours, who may
dispatch. The office's own figures come from the [deadlines] and [urging] tables of the
settings; a bad one stops the process at start with a ConfigError naming it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.duty.holidays import HolidayCalendar
from ivr.errors import ConfigError
from ivr.settings import Settings
from ivr.workflow.calendar import DEFAULT_HOURS, DEFAULT_ZONE, Period, WorkCalendar, check_hours
from ivr.workflow.deadlines import DeadlinePolicy
from ivr.workflow.urging import UrgingPolicy


@dataclasses.dataclass(frozen=True)
class WorkflowRules:
    """Deadlines, urging, working hours and zone, and whether agents may dispatch (交办)."""

    policy: DeadlinePolicy = dataclasses.field(default_factory=DeadlinePolicy)
    urging: UrgingPolicy = dataclasses.field(default_factory=UrgingPolicy)
    hours: tuple[Period, ...] = DEFAULT_HOURS
    zone: ZoneInfo = DEFAULT_ZONE
    agents_may_dispatch: bool = False

    def __post_init__(self) -> None:
        check_hours(self.hours)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, policy: DeadlinePolicy | None = None
    ) -> WorkflowRules:
        """The rules the settings ask for: zone, dispatch right, deadlines and urging."""
        try:
            zone = ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"setting timezone: {settings.timezone!r} is unknown") from exc
        return cls(
            policy=policy or DeadlinePolicy.from_mapping(_table(settings.deadlines)),
            urging=UrgingPolicy.from_mapping(_table(settings.urging)),
            zone=zone,
            agents_may_dispatch=settings.agents_may_dispatch,
        )

    def calendar(self, days: HolidayCalendar) -> WorkCalendar:
        """The working calendar with these hours over the office's holiday list."""
        return WorkCalendar(days=days, hours=self.hours, zone=self.zone)


def _table(raw: object) -> Mapping[str, object]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"expected a table of deadline or urging settings, got {raw!r}")
    return raw
