"""Console users and sessions in the database, and the `ivr users` command."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr import cli
from ivr.db import users, web_sessions
from ivr.db.console_models import User, WebSession
from ivr.db.web_sessions import Throttle
from ivr.errors import RecordNotFound, ValidationError

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
PASSWORD = "correct horse battery"
RunIvr = Callable[..., int]
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, at minimal cost, for tests that are not about the hash itself."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


def new_name(prefix: str = "user") -> str:
    """A username no other test uses (the PostgreSQL database is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def stored_hash(sm: Sessions, username: str) -> str:
    """The password hash as stored."""
    async with sm() as session:
        query = select(User.password_hash).where(User.username == username)
        return (await session.scalars(query)).one()


async def test_password_is_stored_as_an_argon2id_hash_never_as_itself(
    db_sessionmaker: Sessions,
) -> None:
    name = new_name()
    user = await users.create_user(db_sessionmaker, name, PASSWORD, "agent")
    assert not hasattr(user, "password_hash"), "views must never carry the hash"
    stored = await stored_hash(db_sessionmaker, name)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert users.verify_password(stored, PASSWORD)
    assert not users.verify_password(stored, PASSWORD + "!")
    assert not users.verify_password("not-a-hash", PASSWORD), "a broken hash never matches"
    assert not users.needs_rehash(stored), "made with the production parameters"


@pytest.mark.usefixtures("cheap_hashing")
async def test_usernames_are_case_insensitive_and_unique(db_sessionmaker: Sessions) -> None:
    """Bad input: the same username again, in different case and with spaces around it."""
    name = new_name("Wang.Li")
    created = await users.create_user(db_sessionmaker, name, PASSWORD, "office")
    assert created.username == name.lower() and created.display_name == name.lower()
    with pytest.raises(ValidationError, match="already exists"):
        await users.create_user(db_sessionmaker, f"  {name.upper()} ", PASSWORD, "leader")


@pytest.mark.parametrize(
    ("username", "password", "role", "details", "message"),
    [
        ("ok-name", PASSWORD, "boss", {}, "unknown role 'boss'"),
        ("ok-name", "", "agent", {}, "password is empty"),
        ("ok-name", "123456789", "agent", {}, "at least 10 characters"),
        ("ok-name", "x" * 1025, "agent", {}, "at most 1024"),
        ("ok-name", PASSWORD, "department", {}, "needs --department"),
        ("ok-name", PASSWORD, "agent", {"department": "城管局"}, "only department users"),
        ("ok-name", PASSWORD, "office", {"interface": "PJSIP/8001"}, "only agents"),
        ("ok-name", PASSWORD, "agent", {"interface": "PJSIP/80 01"}, "interface"),
        ("ok-name", PASSWORD, "agent", {"interface": "8001"}, "interface"),
        ("wang li", PASSWORD, "agent", {}, "username"),
        ("", PASSWORD, "agent", {}, "username"),
        ("ok-name", PASSWORD, "agent", {"display_name": "长" * 65}, "display name"),
    ],
)
async def test_bad_user_input_is_refused_with_a_clear_message(
    db_sessionmaker: Sessions,
    username: str,
    password: str,
    role: str,
    details: dict[str, str | None],
    message: str,
) -> None:
    """Bad input: unknown role, empty/short/huge password, department rules, bad interface,
    a username with a space or none at all, an over-long display name."""
    with pytest.raises(ValidationError, match=message):
        await users.create_user(
            db_sessionmaker,
            username,
            password,
            role,
            display_name=details.get("display_name"),
            interface=details.get("interface"),
            department=details.get("department"),
        )


@pytest.mark.usefixtures("cheap_hashing")
async def test_disabling_ends_sessions_and_shows_in_the_list(db_sessionmaker: Sessions) -> None:
    name = new_name()
    user = await users.create_user(
        db_sessionmaker, name, PASSWORD, "agent", interface="Local/8001@agents-sim/n"
    )
    for _ in range(2):
        await web_sessions.create_session(db_sessionmaker, user, now=T0, idle=timedelta(hours=1))
    assert await users.disable_user(db_sessionmaker, name.upper()) == 2
    listed = {u.username: u for u in await users.list_users(db_sessionmaker)}
    assert not listed[name].active and listed[name].interface == "Local/8001@agents-sim/n"
    with pytest.raises(RecordNotFound, match="no user"):
        await users.disable_user(db_sessionmaker, new_name("ghost"))


@pytest.mark.usefixtures("cheap_hashing")
async def test_only_the_token_digest_is_stored(db_sessionmaker: Sessions) -> None:
    user = await users.create_user(db_sessionmaker, new_name(), PASSWORD, "leader")
    issued = await web_sessions.create_session(
        db_sessionmaker, user, now=T0, idle=timedelta(hours=12)
    )
    async with db_sessionmaker() as session:
        row = await session.get(WebSession, issued.session.id)
    assert row is not None and row.token_hash == web_sessions.token_digest(issued.token)
    assert issued.token not in (row.token_hash, row.csrf_token)
    found = await web_sessions.resolve_session(
        db_sessionmaker, issued.token, now=T0, idle=timedelta(hours=12)
    )
    assert found is not None and found.user.username == user.username
    assert (
        await web_sessions.resolve_session(
            db_sessionmaker, issued.token + "x", now=T0, idle=timedelta(hours=12)
        )
        is None
    )


async def test_retry_time_is_when_the_fifth_latest_failure_leaves_the_window(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    """Bad input: six failures a minute apart for one username, from addresses of their own."""
    start = fresh_instant()
    name, throttle = new_name(), Throttle()
    for minute in range(6):
        at = start + timedelta(minutes=minute)
        ip = f"10.0.0.{minute}"
        await web_sessions.record_failure(db_sessionmaker, name, ip, now=at, throttle=throttle)
    now = start + timedelta(minutes=6)
    retry = await web_sessions.retry_at(
        db_sessionmaker, name, "10.9.9.9", now=now, throttle=throttle
    )
    assert retry == start + timedelta(minutes=1) + throttle.window
    later = retry + timedelta(seconds=1)
    assert (
        await web_sessions.retry_at(db_sessionmaker, name, "10.9.9.9", now=later, throttle=throttle)
        is None
    )


# ---- `ivr users`: main() with stdin patched -------------------------------------------


@pytest.fixture
def run_ivr(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_hashing: None
) -> RunIvr:
    """Runs `ivr ...` against the test database with the given stdin; the exit code."""
    (tmp_path / "ivr.toml").write_text("")
    monkeypatch.setenv("IVR_CONFIG", str(tmp_path / "ivr.toml"))
    monkeypatch.setenv("IVR_DATABASE_URL", database_url)
    # structlog would keep pytest's capture stream after the test has closed it.
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return cli.main(list(argv))

    return run


def test_cli_adds_lists_and_disables_users(
    run_ivr: RunIvr, capsys: pytest.CaptureFixture[str]
) -> None:
    agent, dept = new_name("agent"), new_name("dept")
    args = ["--display-name", "王小丽", "--interface", "PJSIP/8001"]
    assert run_ivr("users", "add", agent, "--role", "agent", *args, stdin=PASSWORD + "\n") == 0
    assert (
        run_ivr(
            "users", "add", dept, "--role", "department", "--department", "城管局", stdin=PASSWORD
        )
        == 0
    )
    assert f"added {agent} (agent)" in capsys.readouterr().out
    assert run_ivr("users", "list") == 0
    listing = capsys.readouterr().out
    assert f"{agent}\tagent\tyes\t王小丽\tPJSIP/8001\t-" in listing
    assert f"{dept}\tdepartment\tyes\t{dept}\t-\t城管局" in listing
    assert PASSWORD not in listing and "argon2" not in listing
    assert run_ivr("users", "disable", agent) == 0
    assert f"disabled {agent} (0 sessions ended)" in capsys.readouterr().out
    run_ivr("users", "list")
    assert f"{agent}\tagent\tno\t" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--role", "boss"], PASSWORD, "unknown role 'boss'"),
        (["--role", "agent"], "", "the password is empty"),
        (["--role", "agent"], "short\n", "at least 10 characters"),
        (["--role", "department"], PASSWORD, "needs --department"),
        (["--role", "office", "--interface", "PJSIP/8001"], PASSWORD, "only agents"),
    ],
)
def test_cli_add_refuses_bad_input_with_a_clear_message(
    run_ivr: RunIvr,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    """Bad input: unknown role, empty and short passwords, a department user without a
    department, an interface for a non-agent."""
    assert run_ivr("users", "add", new_name(), *argv, stdin=stdin) == 2
    assert message in capsys.readouterr().err


def test_cli_refuses_a_duplicate_and_an_unknown_user(
    run_ivr: RunIvr, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input: adding a username twice; disabling a username nobody has."""
    name = new_name()
    assert run_ivr("users", "add", name, "--role", "leader", stdin=PASSWORD) == 0
    assert run_ivr("users", "add", name, "--role", "leader", stdin=PASSWORD) == 2
    assert f"ivr: user '{name}' already exists" in capsys.readouterr().err
    assert run_ivr("users", "disable", "nobody-" + name) == 2
    assert "ivr: no user" in capsys.readouterr().err


def test_cli_takes_no_password_on_the_command_line(
    run_ivr: RunIvr, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input: `--password` in argv (it would show in ps and shell history)."""
    with pytest.raises(SystemExit) as exited:
        run_ivr("users", "add", new_name(), "--role", "agent", "--password", PASSWORD)
    assert exited.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
