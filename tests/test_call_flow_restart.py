"""After the other call-flow tests (file order): the demo command, then an Asterisk restart."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from ivr.app import IvrRuntime
from ivr.asterisk import runner
from ivr.db import calls, cases
from ivr.sim.calls import CallScript
from tests.stack import Citizens, eventually

pytestmark = pytest.mark.asterisk


def _env_for(runtime: IvrRuntime) -> dict[str, str]:
    s = runtime.settings
    names = [
        "state_dir",
        "recordings_dir",
        "database_url",
        "ami_secret",
        "agi_port",
        "ami_port",
        "web_port",
        "vosk_model_path",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update({f"IVR_{name.upper()}": str(getattr(s, name)) for name in names})
    return env


async def test_demo_command_prints_one_case_per_call(runtime: IvrRuntime) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr.cli",
        "demo",
        "--calls",
        "2",
        env=_env_for(runtime),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode()[-2000:]
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert line["case"]["status"] == "draft" and line["case"]["category"]
        assert line["call"]["outcome"] == "answered"
        assert line["call"]["recordings"], "the request audio is on the call"
        assert line["call"]["intake_seconds"] > 0 and line["case"]["transcript_available"]


async def test_asterisk_restart_ami_reconnects_and_next_call_works(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    assert runtime.ami is not None and runtime.services is not None
    await asyncio.to_thread(runner.down, runtime.settings)

    async def disconnected() -> bool:
        return not runtime.ami.logged_in.is_set()  # type: ignore[union-attr]

    await eventually(disconnected, 10, "AMI noticing Asterisk went away")
    await asyncio.to_thread(runner.up, runtime.settings)
    await runtime.ami.wait_logged_in(30)
    await citizens.ami.wait_logged_in(30)
    call = await citizens.sim.place(CallScript(keys="0", delay_seconds=1.0))
    await citizens.sim.wait_ended(call, 60)

    async def closed_and_answered() -> bool:
        view = await calls.get_call(runtime.services.db, call.uniqueid)  # type: ignore[union-attr]
        return view is not None and view.ended_at is not None and view.outcome == "answered"

    await eventually(closed_and_answered, 15, "the call after the restart being answered")
    assert await cases.case_for_call(runtime.services.db, call.uniqueid) is not None
