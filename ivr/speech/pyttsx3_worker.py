"""Run one pyttsx3 synthesis in its own process: `python -m ivr.speech.pyttsx3_worker`.

pyttsx3's espeak driver keeps state between utterances and can write a file after
runAndWait() has returned (seen here: an empty file, or one appearing after its temporary
directory was removed), so each synthesis gets a fresh process and we wait for the file.
Exit codes: 0 written, 3 voice missing, 4 no audio.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

VOICE_MISSING = 3
NO_AUDIO = 4
WAIT_FOR_FILE_SECONDS = 10.0


def synthesize(text: str, out: Path, voice: str, rate: int) -> int:
    """Speak text into out (22.05 kHz WAV); return an exit code."""
    import pyttsx3

    engine = pyttsx3.init("espeak")
    if voice.lower() not in {v.id.lower() for v in engine.getProperty("voices")}:
        return VOICE_MISSING
    engine.setProperty("voice", voice)
    engine.setProperty("rate", rate)
    engine.save_to_file(text, str(out))
    with contextlib.redirect_stdout(io.StringIO()):  # the driver print()s per file
        engine.runAndWait()
    # property changes are queued until runAndWait(), and a failed voice change is swallowed
    if str(engine.getProperty("voice")).lower() != voice.lower():
        return VOICE_MISSING
    return 0 if _wait_for_audio(out) else NO_AUDIO


def _wait_for_audio(out: Path) -> bool:
    deadline = time.monotonic() + WAIT_FOR_FILE_SECONDS
    while time.monotonic() < deadline:
        if out.is_file() and out.stat().st_size > 44:
            return True
        time.sleep(0.02)
    return False


if __name__ == "__main__":
    text_arg, out_arg, voice_arg, rate_arg = sys.argv[1:5]
    sys.exit(synthesize(text_arg, Path(out_arg), voice_arg, int(rate_arg)))
