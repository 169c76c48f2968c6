"""Screen-pop latency through the real Asterisk 22, the ivr runtime and headless Chromium.

One agent's console is open in Chromium and ready in the queue. Callers are put straight
into the queue with a draft (dialplan context `queue-sim`, so the IVR's intake does not
slow the run down), one after the other; each rings the agent. For every pop the ivr
process records when the AgentCalled event reached it, when the WebSocket send finished,
and the time the page reports it rendered the pop. Printed from one run, side by side:

  AMI event -> pop rendered in the browser    median, p95, p99, max
  AMI event -> WebSocket send done (raw)      median, p95, p99, max

    .venv/bin/python bench/screen_pop_latency.py --pops 100
    .venv/bin/python bench/screen_pop_latency.py --pops 100 \
        --database-url postgresql+asyncpg://postgres@127.0.0.1/ivr_bench   (an empty database)
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from argon2 import PasswordHasher
from playwright.async_api import Page, async_playwright
from sqlalchemy import make_url

from ivr.ami.client import AmiClient
from ivr.app import IvrRuntime
from ivr.asterisk import runner
from ivr.db import cases, users
from ivr.handlers.agent_presence import AgentState
from ivr.settings import Settings, load_settings
from ivr.speech.tts import build_prompts
from ivr.web.agent_socket import PopTiming, timings_key

INTERFACE = "Local/8102@agents-sim/n"
PASSWORD = "bench password 12345"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def bench_settings(base: Path, database_url: str | None) -> Settings:
    """A private stack on its own ports; one simulated agent (paused) for the sim dialplan."""
    return load_settings(environ={}).with_overrides(
        state_dir=base / "var",
        recordings_dir=base / "recordings",
        database_url=database_url or f"sqlite+aiosqlite:///{base / 'var' / 'ivr.db'}",
        ami_secret=secrets.token_urlsafe(16),
        agi_port=24673,
        ami_port=25138,
        web_port=28180,
        audiosocket_port=29192,
        vosk_model_path=base / "no-model",  # no speech in this run
        sim_agents=1,
        sim_agent_talk_seconds=1,
    )


async def open_console(page: Page, rt: IvrRuntime, username: str) -> None:
    """Log in, wait for the pop feed, go ready."""
    s = rt.settings
    base = f"http://{s.web_host}:{s.web_port}"
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/agent")
    await page.wait_for_selector("#pop[data-feed=open]")
    await page.click("#presence-ready")


async def wait_ready(rt: IvrRuntime, timeout: float = 20) -> None:
    """Until the agent is back to ready after a call."""
    assert rt.presence is not None

    def ready(view: object) -> bool:
        return getattr(view, "state", None) is AgentState.READY

    if not await rt.presence.wait_until(INTERFACE, ready, timeout):
        raise RuntimeError("the agent did not come back to ready")


async def ring_once(ami: AmiClient, rt: IvrRuntime, case_id: int, done: int) -> None:
    """One caller into the queue for `case_id`; returns when its pop was rendered."""
    assert rt.console is not None
    timings = rt.console[timings_key]
    await ami.action(
        {
            "Action": "Originate",
            "Channel": "Local/s@queue-sim/n",
            "Application": "Wait",
            "Data": "30",
            "CallerID": '"bench" <13800000000>',
            "Async": "true",
            "Variable": [f"SIM_CASE_ID={case_id}"],
        },
        timeout=15,
    )
    deadline = time.monotonic() + 20
    while len(timings.done) <= done:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no pop rendered for case {case_id}")
        await asyncio.sleep(0.02)


def spread(values: list[float]) -> str:
    """median / p95 / p99 / max in milliseconds."""
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]

    return (
        f"median {statistics.median(ordered):7.1f} ms  p95 {pct(0.95):7.1f}  "
        f"p99 {pct(0.99):7.1f}  max {ordered[-1]:7.1f}"
    )


def report(done: list[PopTiming]) -> None:
    """The two latencies from the same pops, side by side."""
    rendered = [(t.rendered_at - t.received_at) * 1000 for t in done if t.rendered_at]
    sent = [(t.sent_at - t.received_at) * 1000 for t in done]
    print(f"pops measured: {len(rendered)}")
    print(f"AMI AgentCalled -> pop rendered in Chromium: {spread(rendered)}")
    print(f"AMI AgentCalled -> WebSocket send done:      {spread(sent)}")
    ratio = statistics.median(rendered) / statistics.median(sent)
    print(f"ratio of medians (rendered / sent): {ratio:.2f}")


async def run(rt: IvrRuntime, pops: int) -> list[PopTiming]:
    """Ring the agent `pops` times, one call after the other."""
    assert rt.services is not None and rt.console is not None
    db = rt.services.db
    users.HASHER = PasswordHasher(time_cost=1, memory_cost=1024)  # the bench is not about hashing
    name = f"bench-{uuid.uuid4().hex[:6]}"
    await users.create_user(db, name, PASSWORD, "agent", interface=INTERFACE)
    ami = AmiClient.from_settings(rt.settings)
    await ami.start()
    await ami.wait_logged_in(30)
    sim = {"Action": "QueuePause", "Queue": rt.settings.queue_name, "Paused": "true"}
    await ami.action(sim | {"Interface": "Local/8001@agents-sim/n", "Reason": "bench"})
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await open_console(page, rt, name)
        await wait_ready(rt)
        for done in range(pops):
            case_id = await cases.create_blank_draft(db, call_uniqueid=None, caller_number="")
            await ring_once(ami, rt, case_id, done)
            await wait_ready(rt)
        await browser.close()
    await ami.close()
    return list(rt.console[timings_key].done)


async def main(pops: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="ivr-bench-pop-") as tmp:
        s = bench_settings(Path(tmp), database_url)
        print(f"database: {make_url(s.database_url).get_backend_name()}")
        build_prompts(s)
        runner.up(s)
        try:
            async with IvrRuntime(s) as rt:
                assert rt.ami is not None
                await rt.ami.wait_logged_in(30)
                report(await run(rt, pops))
        finally:
            runner.down(s)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pops", type=int, default=100)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.pops, args.database_url))
