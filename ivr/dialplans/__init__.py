"""Call flows, one module each, and the one explicit table of FastAGI routes."""

from __future__ import annotations

from functools import partial

from ivr.agi.server import Route
from ivr.dialplans.followup import followup
from ivr.dialplans.hotline import hotline
from ivr.services import Services


def build_routes(services: Services) -> dict[str, Route]:
    """The route table: the name in `AGI(agi://host/NAME)` maps to the flow of that name."""
    return {
        "hotline": partial(hotline, services=services),
        "followup": partial(followup, services=services),
    }
