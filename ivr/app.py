"""`ivr serve`: FastAGI, AMI and the web app in one asyncio process."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.agi.server import FastAgiServer
from ivr.ami.client import AmiClient
from ivr.cases.taxonomy import load_taxonomy
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.migrate import upgrade_database
from ivr.dialplans import build_routes
from ivr.errors import ModelUnavailable
from ivr.followup.scheduler import FollowUpScheduler
from ivr.handlers.agent_presence import AgentPresence
from ivr.handlers.callback_events import CallbackEvents
from ivr.handlers.queue_events import QueueEventHandlers
from ivr.handlers.reconcile import CallReconciler
from ivr.handlers.screen_pop import ScreenPopHandlers, case_changed_notifier
from ivr.hotspots.job import HotTopicJob
from ivr.leased_job import LeasedJob
from ivr.services import Services, utc_now
from ivr.settings import Settings
from ivr.speech.asr import Transcriber
from ivr.speech.audiosocket import AudioSocketServer
from ivr.web import form_token
from ivr.web.app import make_app
from ivr.web.pop_bus import PopBus
from ivr.web.presence import Telephony
from ivr.workflow.rules import WorkflowRules
from ivr.workflow_scheduler import UrgingScheduler

log = structlog.get_logger(__name__)


class IvrRuntime:
    """Everything `ivr serve` runs, started and stopped in order (tests use it in-process)."""

    def __init__(
        self,
        settings: Settings,
        *,
        transcriber: Transcriber | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self._transcriber = transcriber  # benchmarks pass an instrumented one
        self._clock = clock  # tests move time to reach deadlines and follow-up days
        self.engine: AsyncEngine | None = None
        self.services: Services | None = None
        self.ami: AmiClient | None = None
        self.presence: AgentPresence | None = None  # queue members as Asterisk reports them
        self.bus = PopBus()  # screen-pops to the agents' pages (and other processes')
        self.agi: FastAgiServer | None = None
        self._web: web.AppRunner | None = None
        self.console: web.Application | None = None  # the web app (benchmarks read timings)
        self.followups: FollowUpScheduler | None = None  # the automatic 回访 (tests drive it)
        self._jobs_stop = asyncio.Event()
        # 催办/督办 and the automatic 回访, each under a database lease
        self._jobs: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> IvrRuntime:
        s = self.settings
        rules = WorkflowRules.from_settings(s)  # a bad deadline figure stops us before anything
        form_token.form_secret(s)  # and so does a state dir the mailbox's secret cannot be in
        await upgrade_database(s.database_url)
        self.engine = make_engine(s.database_url)
        db = make_sessionmaker(self.engine)
        await self.bus.start_relay(s.database_url)
        self.services = Services(
            settings=s,
            db=db,
            transcriber=self._transcriber or Transcriber(s),
            taxonomy=load_taxonomy(),
            case_changed=case_changed_notifier(db, self.bus),
            audiosocket=AudioSocketServer() if s.streaming_asr else None,
            clock=self._clock,
        )
        await self._load_speech_model()
        await self.start_ami()
        await self.start_audiosocket()
        await self.start_agi()
        await self._start_web()
        self._start_jobs(rules)
        log.info("ivr_serving", agi_port=s.agi_port, ami_port=s.ami_port, web_port=s.web_port)
        return self

    async def _load_speech_model(self) -> None:
        # loading takes seconds: do it now, not while the first caller waits
        assert self.services is not None
        try:
            await self.services.transcriber.load()
        except ModelUnavailable as exc:
            log.warning("speech_model_unavailable", reason=str(exc))

    async def start_ami(self) -> None:
        """Connect to AMI (in the background; Asterisk may come up later)."""
        assert self.services is not None
        s = self.settings
        self.ami = AmiClient.from_settings(s)
        pops = ScreenPopHandlers(self.services, self.bus)
        pops.register(self.ami)
        QueueEventHandlers(self.services).register(self.ami)
        CallbackEvents(self.services).register(self.ami)
        self.ami.on_login(CallReconciler(self.services, self.ami).reconcile)
        # after the reconciler has closed the calls Asterisk no longer has
        self.ami.on_login(pops.settle_after_login)
        self.presence = AgentPresence(s.queue_name, clock=self.services.clock)
        self.presence.register(self.ami)
        await self.ami.start()

    def _start_jobs(self, rules: WorkflowRules) -> None:
        assert self.services is not None and self.ami is not None
        db, clock = self.services.db, self.services.clock
        self.followups = FollowUpScheduler(db, self.ami, self.settings, clock=clock)
        jobs: list[LeasedJob] = [UrgingScheduler(db, rules=rules, clock=clock)]
        jobs.append(HotTopicJob(db, clock=clock))  # 热点预警
        if self.settings.followup_automatic:
            jobs.append(self.followups)
        for job in jobs:
            task = job.run_forever(self._jobs_stop)
            self._jobs.append(asyncio.create_task(task, name=job.job_name))

    async def start_audiosocket(self) -> None:
        """Listen for Asterisk's AudioSocket streams (when streaming is on)."""
        assert self.services is not None
        server = self.services.audiosocket
        if server is not None and not server.listening:
            await server.start(self.settings.audiosocket_host, self.settings.audiosocket_port)

    async def stop_audiosocket(self) -> None:
        """Stop streaming; calls then record their requests instead."""
        if self.services is not None and self.services.audiosocket is not None:
            await self.services.audiosocket.stop()

    async def start_agi(self) -> None:
        """Listen for FastAGI (tests stop and restart it to simulate the ivr being down)."""
        assert self.services is not None
        self.agi = FastAgiServer(build_routes(self.services))
        await self.agi.start(self.settings.agi_host, self.settings.agi_port)

    async def stop_agi(self) -> None:
        """Stop listening for FastAGI; calls then take the dialplan's fallback."""
        if self.agi is not None:
            await self.agi.stop()
            self.agi = None

    async def _start_web(self) -> None:
        assert self.services is not None and self.ami is not None and self.presence is not None
        telephony = Telephony(ami=self.ami, presence=self.presence)
        console = make_app(
            self.health,
            db=self.services.db,
            settings=self.settings,
            telephony=telephony,
            bus=self.bus,
        )
        self.console = console
        self._web = web.AppRunner(console, access_log=None)
        await self._web.setup()
        await web.TCPSite(self._web, self.settings.web_host, self.settings.web_port).start()

    def health(self) -> dict[str, Any]:
        """What /healthz reports."""
        ami_ok = self.ami is not None and self.ami.logged_in.is_set()
        return {"ami_logged_in": ami_ok, "agi_listening": self.agi is not None}

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_agi()
        await self.stop_audiosocket()
        if self.services is not None:
            await self.services.background.drain(timeout=60)
        log.debug("ivr_stop_step", done="agi")
        if self._web is not None:
            await self._web.cleanup()
        log.debug("ivr_stop_step", done="web")
        if self.ami is not None:
            await self.ami.close()
        log.debug("ivr_stop_step", done="ami")
        await self.bus.close()
        self._jobs_stop.set()
        await asyncio.gather(*self._jobs)  # each gives its lease back
        if self.services is not None:
            self.services.transcriber.close()
        if self.engine is not None:
            await self.engine.dispose()
        log.info("ivr_stopped")


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with IvrRuntime(settings):
        await stop.wait()
