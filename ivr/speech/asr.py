"""Transcription with vosk, off the event loop.

One vosk `Model` per process and model path (loaded lazily on the executor, once, even when
the first calls race), one `KaldiRecognizer` per call. vosk's C calls release the GIL, so a
ThreadPoolExecutor of `settings.asr_workers` threads decodes in parallel while the loop runs.

What `transcribe` returns instead of raising:
- no model at the path, or a model vosk cannot load: available=False and a reason saying
  how to install one (`load()` raises ModelUnavailable for callers that want to fail fast);
- a missing, empty or unreadable recording: available=True, text "" (the caller said nothing
  we could hear) and a reason naming the problem;
- after close(): available=False.
vosk failing in the middle of a decode is a bug, not a condition: it raises SpeechError.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import structlog
import vosk

from ivr.errors import ModelUnavailable, SpeechError
from ivr.settings import Settings
from ivr.speech.audio import Audio, Samples, read_wav, resample
from ivr.speech.models import spec_for_path

log = structlog.get_logger(__name__)
vosk.SetLogLevel(-1)  # Kaldi's LOG lines off; its warnings (e.g. grammar words) stay

DEFAULT_MODEL_RATE = 16000  # Kaldi's default when mfcc.conf does not say
CHUNK_SECONDS = 0.5
# vosk's Chinese models print words separated by spaces; Chinese text has none.
_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_SPACE_BETWEEN_HAN = re.compile(rf"(?<={_HAN})\s+(?={_HAN})")


@dataclass(frozen=True)
class Transcript:
    """What the caller said, or why we do not know."""

    text: str
    available: bool  # False: no speech model, so the text tells nothing about the caller
    reason: str | None = None  # why text is empty or unavailable; None when decoding ran
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0


@dataclass(frozen=True)
class _Loaded:
    model: vosk.Model
    rate: int


_models: dict[Path, _Loaded] = {}
_models_lock = threading.Lock()


def _shared_model(path: Path) -> _Loaded:
    """The process's one model for this path; the lock makes racing first calls load once."""
    with _models_lock:
        loaded = _models.get(path)
        if loaded is None:
            loaded = _models[path] = _load(path)
        return loaded


def _load(path: Path) -> _Loaded:
    pull = f"ivr models pull {spec_for_path(path).key}"
    if not path.is_dir():
        raise ModelUnavailable(f"speech model not installed at {path}; run `{pull}`")
    started = time.perf_counter()
    try:
        model = vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelUnavailable(
            f"speech model at {path} could not be loaded ({exc}); reinstall it with `{pull}`"
        ) from exc
    rate = model_sample_rate(path)
    log.info(
        "asr_model_loaded",
        path=str(path),
        rate=rate,
        seconds=round(time.perf_counter() - started, 2),
    )
    return _Loaded(model, rate)


def model_sample_rate(path: Path) -> int:
    """The rate the model's features expect (--sample-frequency in conf/mfcc.conf)."""
    try:
        conf = (path / "conf" / "mfcc.conf").read_text()
    except OSError:
        return DEFAULT_MODEL_RATE
    match = re.search(r"^\s*--sample-frequency\s*=\s*(\d+)", conf, re.MULTILINE)
    return int(match.group(1)) if match else DEFAULT_MODEL_RATE


def tidy_text(text: str) -> str:
    """Drop the spaces vosk puts between Chinese characters; other scripts keep theirs."""
    return _SPACE_BETWEEN_HAN.sub("", text.strip())


def _decode(loaded: _Loaded, audio: Audio, grammar: Sequence[str] | None) -> str:
    audio = resample(audio, loaded.rate)  # e.g. 8 kHz telephony: cn models refuse it as is
    if grammar:
        rec = vosk.KaldiRecognizer(
            loaded.model, loaded.rate, json.dumps(list(grammar), ensure_ascii=False)
        )
    else:
        rec = vosk.KaldiRecognizer(loaded.model, loaded.rate)
    pcm = audio.samples.astype("<i2").tobytes()
    step = 2 * int(loaded.rate * CHUNK_SECONDS)
    parts = []
    for start in range(0, len(pcm), step):
        if rec.AcceptWaveform(pcm[start : start + step]):
            parts.append(json.loads(rec.Result())["text"])  # an endpoint: keep this segment
    parts.append(json.loads(rec.FinalResult())["text"])
    return tidy_text(" ".join(p for p in parts if p))


def decode_raw(model_path: Path, wav: Path, grammar: Sequence[str] | None = None) -> str:
    """Plain synchronous vosk decode on the calling thread: the benchmarks' baseline."""
    return _decode(_shared_model(model_path), read_wav(wav), grammar)


class Transcriber:
    """Async transcription for the call flows; one per process, shared by all calls."""

    def __init__(self, settings: Settings) -> None:
        self.model_path = settings.vosk_model_path
        self._executor = ThreadPoolExecutor(
            max_workers=settings.asr_workers, thread_name_prefix="asr"
        )
        self._closed = False

    async def load(self) -> None:
        """Load the model now (on the executor); raises ModelUnavailable if there is none."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, _shared_model, self.model_path)

    async def transcribe(self, wav: Path, grammar: Sequence[str] | None = None) -> Transcript:
        """Transcribe a recording; with a grammar, only those phrases' words can come out."""
        if self._closed:
            return Transcript(text="", available=False, reason="speech recognition has stopped")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._run, wav, grammar)
        except ModelUnavailable as exc:
            log.warning("asr_unavailable", reason=str(exc))
            return Transcript(text="", available=False, reason=str(exc))

    def _run(self, wav: Path, grammar: Sequence[str] | None) -> Transcript:
        loaded = _shared_model(self.model_path)
        problem = _audio_problem(wav)
        if problem:
            return Transcript(text="", available=True, reason=problem)
        try:
            audio = read_wav(wav)
        except SpeechError as exc:
            return Transcript(text="", available=True, reason=f"unreadable recording: {exc}")
        if len(audio.samples) == 0:
            return Transcript(text="", available=True, reason=f"no audio in {wav}")
        started = time.perf_counter()
        try:
            text = _decode(loaded, audio, grammar)
        except Exception as exc:  # vosk signals every failure with a bare Exception
            raise SpeechError(f"vosk could not decode {wav}: {exc}") from exc
        return Transcript(
            text=text,
            available=True,
            audio_seconds=audio.seconds,
            decode_seconds=time.perf_counter() - started,
        )

    async def open_stream(self, rate: int) -> StreamDecoder:
        """A decoder fed piece by piece while the caller talks (ModelUnavailable: none)."""
        if self._closed:
            raise ModelUnavailable("speech recognition has stopped")
        loop = asyncio.get_running_loop()
        loaded = await loop.run_in_executor(self._executor, _shared_model, self.model_path)
        return StreamDecoder(loaded, rate, self._executor)

    def close(self, *, wait: bool = False) -> None:
        """Stop taking work: queued decodes are cancelled, a running one ends in its thread."""
        # wait=False by default: close() is called from the event loop at shutdown, and a
        # decode can take seconds; Python joins the worker threads at exit anyway.
        self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)


@dataclass(frozen=True)
class StreamStep:
    """What the decoder knows after a piece of audio."""

    partial: str  # the words of the utterance in progress (and the ones before it)
    endpoint: bool  # vosk decided an utterance ended with this piece


class StreamDecoder:
    """Incremental vosk decoding of one call, on the transcriber's threads.

    Feed and finish are awaited one at a time by the call's stream, so the recognizer (not
    thread-safe) is only ever used by one thread at a time. Pieces are resampled with a few
    samples of context on either side (held back until the next piece comes), so the model
    hears the same audio as when the whole recording is resampled at once.
    """

    CONTEXT = 64  # input samples each side of a piece: the resampling filter's reach

    def __init__(self, loaded: _Loaded, rate: int, executor: ThreadPoolExecutor) -> None:
        self._loaded = loaded
        self._rate = rate
        self._executor = executor
        self._recognizer = vosk.KaldiRecognizer(loaded.model, loaded.rate)
        self._segments: list[str] = []
        self._buffer = np.zeros(0, dtype=np.int16)  # input not yet passed on, with context
        self._done = 0  # how many samples at the start of the buffer were passed on already
        self.decode_seconds = 0.0

    async def feed(self, samples: Samples) -> StreamStep:
        """Decode a piece of audio at the stream's rate."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._feed, samples)

    async def finish(self) -> str:
        """Everything said, once the stream is over."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._finish)

    def _feed(self, samples: Samples) -> StreamStep:
        started = time.perf_counter()
        self._buffer = np.concatenate([self._buffer, samples])
        endpoint = self._accept(self._resampled(final=False))
        if endpoint:
            self._segments.append(json.loads(self._recognizer.Result())["text"])
            current = ""
        else:
            current = json.loads(self._recognizer.PartialResult())["partial"]
        self.decode_seconds += time.perf_counter() - started
        return StreamStep(tidy_text(" ".join(p for p in (*self._segments, current) if p)), endpoint)

    def _resampled(self, *, final: bool) -> Samples:
        """The next stretch for the model: all but the held-back tail (unless final)."""
        ratio = self._loaded.rate / self._rate
        upto = len(self._buffer) if final else len(self._buffer) - self.CONTEXT
        if upto <= self._done:
            return np.zeros(0, dtype=np.int16)
        out = resample(Audio(self._buffer, self._rate), self._loaded.rate).samples
        piece = out[round(self._done * ratio) : round(upto * ratio)]
        keep = max(0, upto - self.CONTEXT)  # left context for the next piece
        self._buffer, self._done = self._buffer[keep:], upto - keep
        return piece

    def _accept(self, piece: Samples) -> bool:
        return bool(piece.size) and bool(
            self._recognizer.AcceptWaveform(piece.astype("<i2").tobytes())
        )

    def _finish(self) -> str:
        started = time.perf_counter()
        if self._accept(self._resampled(final=True)):
            self._segments.append(json.loads(self._recognizer.Result())["text"])
        self._segments.append(json.loads(self._recognizer.FinalResult())["text"])
        self.decode_seconds += time.perf_counter() - started
        return tidy_text(" ".join(p for p in self._segments if p))


def _audio_problem(wav: Path) -> str | None:
    # A caller who hangs up before the beep leaves no file, or an empty one: nothing was said.
    try:
        size = wav.stat().st_size
    except FileNotFoundError:
        return f"no recording at {wav}"
    except OSError as exc:
        return f"cannot read recording {wav}: {exc}"
    return f"empty recording {wav}" if size == 0 else None
