"""Settings load once: defaults, then a TOML file, then IVR_* environment variables.

They are validated at start and passed in; nothing reads the environment deeper down.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_NAME = "vosk-model-small-cn-0.22"


@dataclass(frozen=True)
class Settings:
    """Everything the ivr process and its commands need to know about their surroundings."""

    root: Path = PROJECT_ROOT
    state_dir: Path = PROJECT_ROOT / "var"
    recordings_dir: Path = PROJECT_ROOT / "recordings"
    database_url: str = ""
    timezone: str = "Asia/Shanghai"

    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "ivr"
    ami_secret: str = ""
    ami_ping_interval: float = 5.0
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    # Secure cookies need HTTPS; off by default so http://localhost works for development.
    web_secure_cookies: bool = False
    web_session_idle_hours: float = 12.0
    # the console's public origin behind a TLS proxy (https://hotline.example.gov.cn)
    web_public_origin: str = ""

    # AudioSocket: the caller's audio streamed to us while they speak (transcript ready at
    # once); off, or unreachable for a call, means RECORD FILE then transcription
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 9092
    streaming_asr: bool = True
    vosk_model_path: Path = PROJECT_ROOT / "var" / "models" / DEFAULT_MODEL_NAME
    asr_workers: int = 2
    record_silence_seconds: int = 2
    record_max_seconds: int = 60

    queue_name: str = "hotline-agents"
    queue_timeout_seconds: int = 300
    # 领导接听日: the duty leader's desk is a queue of its own (the leader and assistants)
    leader_queue_name: str = "leader-desk"
    leader_ring_seconds: int = 20  # unanswered this long → the agents take the call
    # 回访: how the citizen is called back ({number} is filled in) and for how long it rings
    followup_dial: str = "PJSIP/{number}@trunk"
    followup_ring_seconds: int = 30
    followup_max_attempts: int = 3  # unanswered this often: an agent calls by hand
    # placed automatically this many days after the reply, within calling hours (local
    # time, "HH:MM-HH:MM"), an unanswered call retried after followup_retry_minutes
    followup_automatic: bool = True  # off: only the office's button calls (tests drive it)
    followup_delay_days: int = 1
    followup_calling_hours: str = "09:00-20:00"
    followup_retry_minutes: int = 120
    # spoken survey answers (vosk grammar mode): "" is the built-in Mandarin table
    # (ivr/followup/answers.toml); a deployment with another model points at its own
    survey_answers_file: str = ""
    followup_concurrent_calls: int = 2  # trunk lines the automatic follow-up may hold at once
    # 漏接回拨: how long the citizen's phone rings when an agent calls them back
    callback_ring_seconds: int = 30
    # 市长信箱: per client address and hour, letters sent and query-code look-ups
    mailbox_letters_per_hour: int = 5
    mailbox_queries_per_hour: int = 30
    mailbox_min_fill_seconds: int = 3  # a form sent faster than this was not typed
    # signs the public form's tokens; empty: a generated one in state_dir/secrets (0600)
    web_form_secret: str = ""
    # 并单: earlier cases within this many days are suggested as the same problem
    merge_window_days: int = 7
    # the office's deadlines and urging timings ([deadlines] and [urging] tables in
    # ivr.toml; field names of ivr.workflow.deadlines.DeadlinePolicy / urging.UrgingPolicy)
    deadlines: Mapping[str, Any] = field(default_factory=dict)
    urging: Mapping[str, Any] = field(default_factory=dict)
    sim_agents: int = 0  # >0 adds simulated agents and citizens (tests, demo, bench only)
    sim_agent_talk_seconds: int = 3
    # 交办 is the office's by default; some centers let the agent dispatch at registration
    agents_may_dispatch: bool = False

    asterisk_root: Path = Path.home() / ".cache" / "ivr" / "asterisk-sid"
    asterisk_binary: str = "auto"
    log_level: str = "info"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prompts_dir(self) -> Path:
        """Where built prompts live (Asterisk plays them from here)."""
        return self.recordings_dir / "prompts"

    @property
    def calls_dir(self) -> Path:
        """Where call audio is recorded, by date."""
        return self.recordings_dir / "calls"

    @property
    def ami_secret_file(self) -> Path:
        """The generated AMI secret for a development Asterisk (mode 0600)."""
        return self.state_dir / "secrets" / "ami_secret"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields replaced and re-validated (tests, CLI flags)."""
        return _validated(dataclasses.replace(self, **changes))


_ENV_PREFIX = "IVR_"


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge defaults, the TOML file (IVR_CONFIG or ./ivr.toml) and IVR_* variables."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    path = config_file or _config_path(env)
    if path is not None:
        values.update(_read_toml(path))
    for f in dataclasses.fields(Settings):
        raw = env.get(_ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = raw
    return _validated(_build(values))


def _config_path(env: Mapping[str, str]) -> Path | None:
    if "IVR_CONFIG" in env:
        return Path(env["IVR_CONFIG"])
    default = PROJECT_ROOT / "ivr.toml"
    return default if default.exists() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from exc


def _build(values: Mapping[str, Any]) -> Settings:
    known = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(unknown)}")
    defaults = Settings()
    converted: dict[str, Any] = {}
    for name, raw in values.items():
        converted[name] = _convert(name, type(getattr(defaults, name)), raw)
    if "root" in converted and "state_dir" not in converted:
        converted["state_dir"] = converted["root"] / "var"
    return dataclasses.replace(defaults, **converted)


def _convert(name: str, kind: type, raw: Any) -> Any:
    try:
        if issubclass(kind, Path):
            return Path(raw).expanduser().resolve()
        if kind is bool:
            return _boolean(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is str:
            return str(raw)
        if kind is dict:
            return _table(raw)
        return raw
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: {raw!r} is not a valid {kind.__name__}") from exc


def _table(raw: Any) -> dict[str, Any]:
    # a TOML table from the file, or an inline table in an environment variable:
    # IVR_DEADLINES='{reply_working_days = 3}'
    if isinstance(raw, str):
        try:
            raw = tomllib.loads(f"table = {raw}")["table"]
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(raw) from exc
    if not isinstance(raw, Mapping):
        raise TypeError(raw)
    return dict(raw)


def _boolean(raw: Any) -> bool:
    # environment values are text: "false" must not count as true
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)


def _validated(settings: Settings) -> Settings:
    for name in ("agi_port", "ami_port", "web_port"):
        port = getattr(settings, name)
        if not 0 < port < 65536:
            raise ConfigError(f"setting {name}: {port} is not a TCP port")
    if settings.record_silence_seconds < 1 or settings.record_max_seconds < 5:
        raise ConfigError("recording needs at least 1 s of silence and 5 s of maximum length")
    if settings.ami_host not in ("127.0.0.1", "::1", "localhost"):
        raise ConfigError("AMI must stay on loopback: set ami_host to 127.0.0.1")
    if not settings.database_url:
        url = f"sqlite+aiosqlite:///{settings.state_dir / 'ivr.db'}"
        settings = dataclasses.replace(settings, database_url=url)
    return settings


def resolve_ami_secret(settings: Settings) -> str:
    """The AMI secret from settings, else the generated development one; never a default."""
    if settings.ami_secret:
        return settings.ami_secret
    try:
        return settings.ami_secret_file.read_text().strip()
    except FileNotFoundError as exc:
        raise ConfigError(
            "no AMI secret: set IVR_AMI_SECRET (or ami_secret in ivr.toml), "
            "or run `ivr asterisk up` to generate one for the bundled Asterisk"
        ) from exc
