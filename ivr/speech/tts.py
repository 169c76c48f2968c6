"""Speech synthesis with pyttsx3 (espeak-ng driver), resampled to what Asterisk plays.

Everything here blocks (espeak synthesizes synchronously inside runAndWait): async callers run
it in an executor, e.g. `await asyncio.to_thread(synthesize_clip, text, dst)`.

Why the default voice is `sit/cmn-latn-pinyin` and not `sit/cmn`: with Debian's espeak-ng 1.51
data, `sit/cmn` ("latin as English") reads the pinyin its dictionary yields for many characters
as English words: 您 comes out as "nin two", 电 as "dian four" (`espeak-ng -v cmn -x 您好` shows
the `(en)` switches). The pinyin variant is the same Mandarin voice reading them as Mandarin.

pyttsx3 runs in a fresh process per synthesis (ivr/speech/pyttsx3_worker.py): in one long
process its espeak driver was seen to return from runAndWait() before the file was written,
which broke prompt builds at random.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import structlog

from ivr.errors import SpeechError
from ivr.settings import Settings
from ivr.speech import pyttsx3_worker
from ivr.speech.audio import ASTERISK_RATE, read_wav, silence, to_asterisk_wav, tone, write_wav
from ivr.speech.prompts import PROMPTS, TONES, Prompt, Tone, prompt_file

log = structlog.get_logger(__name__)

MANDARIN_VOICE = "sit/cmn-latn-pinyin"
KOREAN_VOICE = "ko"
RATE_WPM = 200  # pyttsx3's default, set explicitly so the manifest hash means something
MANIFEST = "manifest.json"


def synthesize_clip(
    text: str, dst: Path, *, voice: str = MANDARIN_VOICE, rate: int = RATE_WPM
) -> Path:
    """Speak text into dst as an 8 kHz 16-bit mono WAV (blocking: use an executor)."""
    _synthesize(text, dst, voice, rate)
    return dst


def _synthesize(text: str, dst: Path, voice: str, rate: int) -> str:
    if not text.strip():
        raise SpeechError("nothing to synthesize: empty text")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dst.parent, prefix=".tts-") as tmp:
        raw = Path(tmp) / "raw.wav"
        engine = _synthesize_raw(text, raw, voice, rate)
        if not raw.is_file() or raw.stat().st_size <= 44:
            raise SpeechError(f"{engine} produced no audio for {text[:20]!r} (voice {voice})")
        to_asterisk_wav(raw, dst)
    return engine


def _synthesize_raw(text: str, raw: Path, voice: str, rate: int) -> str:
    try:
        _pyttsx3_save(text, raw, voice, rate)
        return "pyttsx3"
    except _VoiceMissing as exc:
        log.warning("tts_fallback_espeak_ng", voice=voice, reason=str(exc))
        _espeak_ng_save(text, raw, voice, rate)
        return "espeak-ng"


class _VoiceMissing(Exception):
    """pyttsx3 cannot give us this voice (or cannot start at all)."""


def _pyttsx3_save(text: str, raw: Path, voice: str, rate: int) -> None:
    argv = [sys.executable, "-m", "ivr.speech.pyttsx3_worker", text, str(raw), voice, str(rate)]
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    if done.returncode == pyttsx3_worker.VOICE_MISSING:
        raise _VoiceMissing(f"pyttsx3 lists no voice {voice!r}")
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no audio"]
        raise SpeechError(f"pyttsx3 failed for {text[:20]!r} (voice {voice}): {why[0]}")


def _espeak_ng_save(text: str, raw: Path, voice: str, rate: int) -> None:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise SpeechError(f"no voice {voice!r} in pyttsx3 and no espeak-ng on PATH")
    if voice.lower() not in _espeak_ng_voices(binary):  # it would speak the default voice
        raise SpeechError(f"espeak-ng has no voice {voice!r} (see `espeak-ng --voices`)")
    cmd = [binary, "-v", voice, "-s", str(rate), "-b", "1", "-w", str(raw)]
    done = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise SpeechError(f"espeak-ng failed ({done.returncode}): {done.stderr.decode()[:200]}")


@functools.cache
def _espeak_ng_voices(binary: str) -> frozenset[str]:
    listing = subprocess.run([binary, "--voices"], capture_output=True, text=True, timeout=30)
    names: set[str] = set()
    for line in listing.stdout.splitlines()[1:]:  # Pty Language Age/Gender VoiceName File ...
        cols = line.split()
        if len(cols) >= 5:
            names.update((cols[1].lower(), cols[4].lower()))
    return frozenset(names)


def build_prompts(settings: Settings, *, force: bool = False) -> list[Path]:
    """Build every prompt and tone into settings.prompts_dir; skip up-to-date ones."""
    out_dir = settings.prompts_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(out_dir)
    paths = []
    items: tuple[Prompt | Tone, ...] = (*PROMPTS, *TONES)
    for item in items:
        path = prompt_file(settings, item.name)
        digest = _digest(item)
        entry = manifest.get(item.name, {})
        if not force and entry.get("hash") == digest and _looks_built(path):
            log.debug("prompt_up_to_date", name=item.name)
        else:
            manifest[item.name] = {"hash": digest, **_build(item, path)}
            _write_manifest(out_dir, manifest)  # after each file: an interrupted build resumes
        paths.append(path)
    return paths


def _build(item: Prompt | Tone, path: Path) -> dict[str, Any]:
    if isinstance(item, Tone):
        audio = tone(item.freq, item.seconds) if item.freq else silence(item.seconds)
        write_wav(path, audio)
        meta: dict[str, Any] = {"engine": "numpy"}
    else:
        engine = _synthesize(item.say, path, MANDARIN_VOICE, RATE_WPM)
        meta = {"engine": engine, "voice": MANDARIN_VOICE, "text": item.text}
    seconds = round(read_wav(path).seconds, 3)
    log.info("prompt_built", name=item.name, seconds=seconds, **meta)
    return {**meta, "seconds": seconds}


def _digest(item: Prompt | Tone) -> str:
    if isinstance(item, Tone):
        recipe: dict[str, Any] = {"tone": item.freq, "seconds": item.seconds}
    else:
        recipe = {"say": item.say, "voice": MANDARIN_VOICE, "rate": RATE_WPM}
    recipe["out_rate"] = ASTERISK_RATE
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _looks_built(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 44


def _read_manifest(out_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}  # no or broken manifest: everything is rebuilt
    return data if isinstance(data, dict) else {}


def _write_manifest(out_dir: Path, manifest: dict[str, dict[str, Any]]) -> None:
    tmp = out_dir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
    tmp.replace(out_dir / MANIFEST)
