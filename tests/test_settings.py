"""Settings: defaults, file, environment, and clear errors for what cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.errors import ConfigError
from ivr.settings import load_settings, resolve_ami_secret
from ivr.workflow.rules import WorkflowRules


def test_environment_overrides_file_which_overrides_defaults(tmp_path: Path) -> None:
    config = tmp_path / "ivr.toml"
    config.write_text('agi_port = 5000\nqueue_name = "from-file"\n')
    settings = load_settings(config, environ={"IVR_AGI_PORT": "6000"})
    assert settings.agi_port == 6000 and settings.queue_name == "from-file"
    assert settings.ami_port == 5038  # default kept


def test_default_database_is_sqlite_in_the_state_dir(tmp_path: Path) -> None:
    settings = load_settings(environ={"IVR_STATE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'ivr.db'}"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"IVR_AGI_PORT": "seventy"}, "agi_port: 'seventy' is not a valid int"),
        ({"IVR_WEB_PORT": "70000"}, "web_port: 70000 is not a TCP port"),
        ({"IVR_AMI_HOST": "0.0.0.0"}, "AMI must stay on loopback"),
        ({"IVR_RECORD_SILENCE_SECONDS": "0"}, "at least 1 s of silence"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ)


def test_unknown_setting_in_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "ivr.toml"
    config.write_text("agi_prot = 1\n")
    with pytest.raises(ConfigError, match="unknown settings: agi_prot"):
        load_settings(config, environ={})


def test_broken_toml_is_reported_with_its_path(tmp_path: Path) -> None:
    config = tmp_path / "ivr.toml"
    config.write_text("agi_port = \n")
    with pytest.raises(ConfigError, match=str(config)):
        load_settings(config, environ={})


def test_no_ami_secret_is_an_error_not_a_default(tmp_path: Path) -> None:
    settings = load_settings(environ={"IVR_STATE_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="IVR_AMI_SECRET"):
        resolve_ami_secret(settings)


@pytest.mark.parametrize(("text", "value"), [("false", False), ("0", False), ("yes", True)])
def test_boolean_settings_read_from_text(text: str, value: bool) -> None:
    assert load_settings(environ={"IVR_WEB_SECURE_COOKIES": text}).web_secure_cookies is value


def test_boolean_setting_rejects_other_text() -> None:
    with pytest.raises(ConfigError, match="web_secure_cookies"):
        load_settings(environ={"IVR_WEB_SECURE_COOKIES": "maybe"})


def test_the_office_sets_deadlines_and_urging_in_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "ivr.toml"
    config.write_text(
        "[deadlines]\nreply_working_days = 3\nutility_categories = ['utilities', 'heating']\n"
        "[urging]\nnotice_after_working_days = 5\n"
    )
    rules = WorkflowRules.from_settings(load_settings(config, environ={}))
    assert rules.policy.reply_working_days == 3
    assert rules.policy.utility_categories == frozenset({"utilities", "heating"})
    assert rules.policy.accept_working_days == 1  # untouched figures keep their defaults
    assert rules.urging.notice_after_working_days == 5


def test_deadlines_come_from_the_environment_as_an_inline_table() -> None:
    settings = load_settings(environ={"IVR_DEADLINES": "{reply_working_days = 2}"})
    assert WorkflowRules.from_settings(settings).policy.reply_working_days == 2


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"IVR_DEADLINES": "{reply_working_days = 0}"}, "reply_working_days: 0"),
        ({"IVR_DEADLINES": "{reply_days = 3}"}, "unknown deadline settings: reply_days"),
        ({"IVR_URGING": "{soon_minutes = 'ten'}"}, "urging soon_minutes: 'ten'"),
        ({"IVR_URGING": "{soon_minutes = -1}"}, "urging soon_minutes: -1"),
    ],
)
def test_bad_deadline_or_urging_figures_stop_the_start(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        WorkflowRules.from_settings(load_settings(environ=environ))


@pytest.mark.parametrize("text", ["reply_working_days = 3", "{reply_working_days = ", "[1, 2]"])
def test_a_deadline_table_that_is_not_a_table_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="deadlines"):
        load_settings(environ={"IVR_DEADLINES": text})
