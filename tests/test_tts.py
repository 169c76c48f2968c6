"""Prompts: real pyttsx3 + espeak-ng synthesis, 8 kHz output, manifest skips, Mandarin voice."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from ivr.errors import SpeechError
from ivr.speech import tts
from ivr.speech.audio import read_wav
from ivr.speech.prompts import PROMPTS, Prompt, prompt_file, prompt_sound
from ivr.speech.tts import MANDARIN_VOICE, build_prompts, synthesize_clip
from tests.speech_fixtures import speech_settings

pytest_plugins = ["tests.speech_fixtures"]


def rms(path: Path) -> float:
    return float(np.sqrt(np.mean(read_wav(path).samples.astype(np.float64) ** 2)))


def han_count(text: str) -> int:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_build_prompts_makes_asterisk_wavs(tmp_path: Path) -> None:
    settings = speech_settings(tmp_path)
    paths = build_prompts(settings)
    names = [p.stem for p in paths]
    assert names == [p.name for p in PROMPTS] + ["beep", "silence3"]
    for path in paths:
        assert path.parent == settings.prompts_dir
        with wave.open(str(path)) as check:
            shape = (check.getnchannels(), check.getsampwidth(), check.getframerate())
        assert shape == (1, 2, 8000), path.name
    for prompt in PROMPTS:
        path = prompt_file(settings, prompt.name)
        seconds = read_wav(path).seconds
        assert 0.12 < seconds / han_count(prompt.say) < 0.4, (prompt.name, seconds)
        assert rms(path) > 1000, prompt.name  # speech, not near-silence
    assert read_wav(prompt_file(settings, "greeting")).seconds < 6  # early media stays short
    assert read_wav(prompt_file(settings, "welcome")).seconds < 10


def test_beep_and_silence(tmp_path: Path) -> None:
    settings = speech_settings(tmp_path)
    build_prompts(settings)
    beep = read_wav(prompt_file(settings, "beep"))
    spectrum = np.abs(np.fft.rfft(beep.samples.astype(np.float64)))
    assert beep.seconds == 0.25
    assert np.fft.rfftfreq(len(beep.samples), 1 / 8000)[np.argmax(spectrum)] == 1000.0
    quiet = read_wav(prompt_file(settings, "silence3"))
    assert quiet.seconds == 3.0 and not quiet.samples.any()
    assert prompt_sound(settings, "beep") == str(settings.prompts_dir / "beep")


def test_second_build_skips_via_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = speech_settings(tmp_path)
    first = build_prompts(settings)
    stamps = {p: p.stat().st_mtime_ns for p in first}

    def must_not_run(*args: object) -> str:
        raise AssertionError("an up-to-date prompt was synthesized again")

    with monkeypatch.context() as patch:
        patch.setattr(tts, "_synthesize", must_not_run)
        assert build_prompts(settings) == first
    assert {p: p.stat().st_mtime_ns for p in first} == stamps
    manifest_path = settings.prompts_dir / tts.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["queue_wait"]["hash"] = "stale"
    manifest_path.write_text(json.dumps(manifest))
    build_prompts(settings)
    changed = {p.stem for p in first if p.stat().st_mtime_ns != stamps[p]}
    assert changed == {"queue_wait"}


def test_building_twice_in_one_process_is_reliable(tmp_path: Path) -> None:
    settings = speech_settings(tmp_path)
    first = {p.stem: read_wav(p).seconds for p in build_prompts(settings)}
    second = {p.stem: read_wav(p).seconds for p in build_prompts(settings, force=True)}
    for name, seconds in first.items():
        assert second[name] == pytest.approx(seconds, rel=0.05), name


def test_mandarin_voice_is_used(tmp_path: Path) -> None:
    settings = speech_settings(tmp_path)
    build_prompts(settings)
    manifest = json.loads((settings.prompts_dir / tts.MANIFEST).read_text())
    assert {manifest[p.name]["voice"] for p in PROMPTS} == {MANDARIN_VOICE}
    assert {manifest[p.name]["engine"] for p in PROMPTS} == {"pyttsx3"}
    text = PROMPTS[0].say
    english = synthesize_clip(text, tmp_path / "en.wav", voice="gmw/en")
    mandarin = read_wav(prompt_file(settings, PROMPTS[0].name))
    # English espeak spells every character out ("Chinese letter ..."): far longer.
    assert read_wav(english).seconds > 1.5 * mandarin.seconds


@pytest.mark.parametrize("prompt", PROMPTS, ids=lambda p: p.name)
def test_voice_reads_every_prompt_as_mandarin(prompt: Prompt) -> None:
    # espeak marks each switch to another language's rules with "(en)" etc. in its phonemes;
    # Debian's sit/cmn does that for 您, 电 ... ("nin two"), which is why we use the pinyin one.
    phonemes = subprocess.run(
        ["espeak-ng", "-v", MANDARIN_VOICE, "-q", "-x", prompt.say],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "(en)" not in phonemes and phonemes.strip(), phonemes


def test_fallback_to_espeak_ng_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_voice(*args: object) -> None:
        raise tts._VoiceMissing("pyttsx3 lists no voice 'sit/cmn-latn-pinyin'")

    monkeypatch.setattr(tts, "_pyttsx3_save", no_voice)
    with capture_logs() as logs:
        clip = synthesize_clip("话务员正忙，请稍候。", tmp_path / "fb.wav")
    assert [e["event"] for e in logs] == ["tts_fallback_espeak_ng"]
    audio = read_wav(clip)
    assert audio.rate == 8000 and 1.5 < audio.seconds < 4 and rms(clip) > 1000


def test_unknown_voice_or_empty_text_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(SpeechError):
        synthesize_clip("你好", tmp_path / "x.wav", voice="no-such-voice")
    with pytest.raises(SpeechError, match="empty"):
        synthesize_clip("  ", tmp_path / "y.wav")
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.wav").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temp files left behind


def test_korean_clip(tmp_path: Path) -> None:
    clip = synthesize_clip("여보세요", tmp_path / "ko" / "hello.wav", voice="ko")
    audio = read_wav(clip)
    assert audio.rate == 8000 and 0.5 < audio.seconds < 3 and rms(clip) > 1000
