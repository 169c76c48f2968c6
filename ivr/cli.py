"""The `ivr` command: serve, asterisk, prompts, demo, models, case, users."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.errors import IvrError, ValidationError
from ivr.log import configure_logging
from ivr.settings import Settings, load_settings

if TYPE_CHECKING:
    from ivr.db.users import UserView

Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        command: Command = args.run
        return command(args, settings)
    except IvrError as exc:
        print(f"ivr: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.app import serve

    asyncio.run(serve(settings))
    return 0


def _asterisk(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.asterisk import runner

    if args.action == "provision":
        from ivr.asterisk.provision import find_or_provision

        print(find_or_provision(settings).version())
    elif args.action == "up":
        print(runner.up(settings))
    elif args.action == "down":
        runner.down(settings)
    else:
        current = runner.status(settings)
        print(current)
        return 0 if current.running else 3
    return 0


def _prompts(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.speech.tts import build_prompts

    for path in build_prompts(settings, force=args.force):
        print(path)
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.sim.demo import run_demo

    return asyncio.run(run_demo(settings, args.calls, args.hangup_after))


def _models(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.speech.models import run_pull

    path = run_pull(
        args.model, settings, from_file=args.from_file, sha256=args.sha256, url=args.url
    )
    print(f"installed {path}; set vosk_model_path to it (default location needs no setting)")
    return 0


def _case(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.cases.draft import case_draft
    from ivr.cases.taxonomy import load_taxonomy

    draft = case_draft(args.text, load_taxonomy(), repeat_caller=args.repeat_caller)
    print(json.dumps(draft.to_json_dict(), ensure_ascii=False, indent=2))
    return 0


def _users(args: argparse.Namespace, settings: Settings) -> int:
    # Read before touching the database, so a mistyped password costs no migration.
    password = _read_password() if args.action == "add" else ""
    asyncio.run(_users_async(args, settings, password))
    return 0


async def _users_async(args: argparse.Namespace, settings: Settings, password: str) -> None:
    from ivr.db import users
    from ivr.db.engine import make_engine, make_sessionmaker
    from ivr.db.migrate import upgrade_database

    await upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        db = make_sessionmaker(engine)
        if args.action == "list":
            _print_users(await users.list_users(db))
        elif args.action == "disable":
            ended = await users.disable_user(db, args.username)
            print(f"disabled {users.normalize_username(args.username)} ({ended} sessions ended)")
        else:
            details = {k: getattr(args, k) for k in ("display_name", "interface", "department")}
            user = await users.create_user(db, args.username, password, args.role, **details)
            print(f"added {user.username} ({user.role.value})")
    finally:
        await engine.dispose()


def _read_password() -> str:
    # Never from argv (it shows in `ps` and shell history): a prompt, or stdin's first line.
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise ValidationError("the passwords differ")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def _print_users(rows: Sequence[UserView]) -> None:
    print("username\trole\tactive\tdisplay_name\tinterface\tdepartment")
    for u in rows:
        state = "yes" if u.active else "no"
        extra = f"{u.interface or '-'}\t{u.department or '-'}"
        print(f"{u.username}\t{u.role.value}\t{state}\t{u.display_name}\t{extra}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ivr", description="12345 citizen hotline IVR")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    sub.add_parser("serve", help="FastAGI + AMI + web in one process").set_defaults(run=_serve)
    ast = sub.add_parser("asterisk", help="provision/start/stop the bundled Asterisk 22")
    ast.add_argument("action", choices=["provision", "up", "down", "status"])
    ast.set_defaults(run=_asterisk)
    prompts = sub.add_parser("prompts", help="synthesize the Mandarin prompts")
    prompts.add_argument("action", choices=["build"])
    prompts.add_argument("--force", action="store_true", help="rebuild even if up to date")
    prompts.set_defaults(run=_prompts)
    demo = sub.add_parser("demo", help="place simulated citizen calls and print their cases")
    demo.add_argument("--calls", type=int, default=1)
    demo.add_argument("--hangup-after", type=float, default=None, metavar="SECONDS")
    demo.set_defaults(run=_demo)
    _add_models(sub)
    case = sub.add_parser("case", help="case tools")
    case.add_argument("action", choices=["draft"])
    case.add_argument("--text", required=True, help="what the caller said")
    case.add_argument("--repeat-caller", action="store_true")
    case.set_defaults(run=_case)
    _add_users(sub)
    return parser


def _add_models(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = sub.add_parser("models", help="install a vosk Mandarin model")
    models.add_argument("action", choices=["pull"])
    models.add_argument("model", choices=["zh-small", "zh-big"])
    models.add_argument("--from-file", type=Path, default=None, help="a zip downloaded elsewhere")
    models.add_argument("--sha256", default=None, help="expected SHA-256 of the zip")
    models.add_argument("--url", default=None, help="download from a mirror")
    models.set_defaults(run=_models)


def _add_users(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="console logins (the password is read from stdin)")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user; password from stdin or a prompt")
    add.add_argument("username")
    add.add_argument("--role", required=True, help="agent, office, department or leader")
    add.add_argument("--display-name", default=None, help="name shown in the console")
    add.add_argument("--interface", default=None, help="an agent's queue member: PJSIP/8001")
    add.add_argument("--department", default=None, help="a department user's department")
    actions.add_parser("list", help="list every user")
    disable = actions.add_parser("disable", help="refuse logins and end sessions")
    disable.add_argument("username")
    users.set_defaults(run=_users)


if __name__ == "__main__":
    raise SystemExit(main())
