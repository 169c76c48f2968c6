"""After the other call-flow tests (file order): the demo command, then an Asterisk restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import pytest
from structlog.testing import capture_logs

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
    waiting = await _caller_waiting_in_queue(runtime, citizens)
    await _crash_asterisk(runtime)  # SIGKILL: no Hangup event for the waiting caller

    async def disconnected() -> bool:
        return not runtime.ami.logged_in.is_set()  # type: ignore[union-attr]

    await eventually(disconnected, 10, "AMI noticing Asterisk went away")
    with capture_logs() as logs:
        await asyncio.to_thread(runner.up, runtime.settings)
        await runtime.ami.wait_logged_in(30)
        await citizens.ami.wait_logged_in(30)

        async def reconciled() -> bool:  # the login hook runs just after the login
            return any(e["event"] == "calls_closed_after_ami_outage" for e in logs)

        await eventually(reconciled, 10, "open records of dead channels being closed")
    call = await citizens.sim.place(CallScript(keys="0", delay_seconds=1.0))
    await citizens.sim.wait_ended(call, 60)

    async def closed_and_answered() -> bool:
        view = await calls.get_call(runtime.services.db, call.uniqueid)  # type: ignore[union-attr]
        return view is not None and view.ended_at is not None and view.outcome == "answered"

    await eventually(closed_and_answered, 15, "the call after the restart being answered")
    assert await cases.case_for_call(runtime.services.db, call.uniqueid) is not None
    # the caller cut off by the restart: its Hangup was never seen, yet the record is closed
    cut_off = await calls.get_call(runtime.services.db, waiting)
    assert cut_off is not None and cut_off.ended_at is not None
    assert cut_off.outcome == "abandoned" and cut_off.needs_callback
    closed = [e for e in logs if e["event"] == "calls_closed_after_ami_outage"]
    assert closed and waiting in closed[0]["uniqueids"]


async def _crash_asterisk(runtime: IvrRuntime) -> None:
    pid = runner.status(runtime.settings).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(runner.down, runtime.settings)  # reaps it, removes the mounts


async def _caller_waiting_in_queue(runtime: IvrRuntime, citizens: Citizens) -> str:
    """A citizen who skipped to the queue and waits there (every agent paused)."""
    for i in range(runtime.settings.sim_agents):
        await citizens.ami.action(
            {
                "Action": "QueuePause",
                "Queue": runtime.settings.queue_name,
                "Interface": f"Local/{8001 + i}@agents-sim/n",
                "Paused": "true",
            }
        )
    call = await citizens.sim.place(CallScript(keys="0", delay_seconds=0.5))

    async def queued() -> bool:
        return bool(citizens.events_for(call.uniqueid, "QueueCallerJoin"))

    await eventually(queued, 20, "the caller joining the queue")
    return call.uniqueid
