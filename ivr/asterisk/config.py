"""Render the project's asterisk-config/ templates into the state directory."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from ivr.errors import AsteriskError
from ivr.settings import PROJECT_ROOT, Settings

TEMPLATE_DIR = PROJECT_ROOT / "asterisk-config"
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def asterisk_state_dir(settings: Settings) -> Path:
    """Where the rendered config, sockets, spool and logs of our Asterisk live."""
    return settings.state_dir / "asterisk"


def ensure_ami_secret(settings: Settings) -> str:
    """The configured secret, or a random one generated once for the bundled Asterisk."""
    if settings.ami_secret:
        return settings.ami_secret
    path = settings.ami_secret_file
    existing = path.read_text().strip() if path.exists() else ""
    if not existing:  # missing, or empty after a crash mid-write
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = secrets.token_urlsafe(24)
        _write_private(path, existing)
    return existing


def _write_private(path: Path, text: str) -> None:
    # created 0600 from the first byte (manager.conf holds the AMI secret), then renamed
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def placeholders(settings: Settings, ami_secret: str) -> dict[str, str]:
    """The values the templates refer to."""
    state = asterisk_state_dir(settings)
    members = "\n".join(
        f"member => Local/{8001 + i}@agents-sim/n" for i in range(settings.sim_agents)
    )
    return {
        "ETC_DIR": str(state / "etc"),
        "STATE_DIR": str(state),
        "AMI_PORT": str(settings.ami_port),
        "AMI_USERNAME": settings.ami_username,
        "AMI_SECRET": ami_secret,
        "AGI_HOST": settings.agi_host,
        "AGI_PORT": str(settings.agi_port),
        "PROMPTS_DIR": str(settings.prompts_dir),
        "QUEUE_NAME": settings.queue_name,
        "QUEUE_MEMBERS": members,
        "LEADER_QUEUE": settings.leader_queue_name,
        "LEADER_RING_SECONDS": str(settings.leader_ring_seconds),
        "SIM_TALK_SECONDS": str(settings.sim_agent_talk_seconds),
        # simulated citizens and agents exist only where settings ask for them
        "SIM_INCLUDE": "#include extensions_sim.conf" if settings.sim_agents else "",
    }


def render_config(settings: Settings) -> Path:
    """Write the rendered configuration; return the path of the rendered asterisk.conf."""
    values = placeholders(settings, ensure_ami_secret(settings))
    etc = asterisk_state_dir(settings) / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    for template in sorted(TEMPLATE_DIR.glob("*.conf")):
        _write_private(etc / template.name, _fill(template, values))
    for sub in ("spool", "run", "log", "log/cdr-csv", "db"):
        (asterisk_state_dir(settings) / sub).mkdir(parents=True, exist_ok=True)
    return etc / "asterisk.conf"


def _fill(template: Path, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise AsteriskError(f"{template.name}: unknown placeholder @{name}@")
        return values[name]

    return _PLACEHOLDER.sub(replace, template.read_text())
