"""WAV reading (including files a hung-up caller left unfinished), resampling, Asterisk format."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from ivr.errors import SpeechError
from ivr.speech.audio import (
    Audio,
    read_wav,
    resample,
    silence,
    to_asterisk_wav,
    tone,
    wav_duration,
    write_wav,
)


def stdlib_wav(
    path: Path, frames: np.ndarray, rate: int, channels: int = 1, width: int = 2
) -> Path:
    """Write with the standard library's wave module: a writer independent of ours."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(frames.tobytes())
    return path


def peak_hz(audio: Audio) -> float:
    """The frequency of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(audio.samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(audio.samples), 1 / audio.rate)[np.argmax(spectrum)])


def ramp(n: int) -> np.ndarray:
    return (np.arange(n) % 2000 - 1000).astype("<i2")


def test_round_trip_8k(tmp_path: Path) -> None:
    audio = Audio(ramp(8000), 8000)
    write_wav(tmp_path / "a.wav", audio)
    back = read_wav(tmp_path / "a.wav")
    assert back.rate == 8000 and np.array_equal(back.samples, audio.samples)
    with wave.open(str(tmp_path / "a.wav")) as check:  # the stdlib agrees with our header
        assert (check.getnchannels(), check.getsampwidth(), check.getframerate()) == (1, 2, 8000)
        assert check.getnframes() == 8000


@pytest.mark.parametrize("rate", [8000, 16000, 22050])
def test_reads_common_rates(tmp_path: Path, rate: int) -> None:
    path = stdlib_wav(tmp_path / "r.wav", ramp(rate // 2), rate)
    audio = read_wav(path)
    assert audio.rate == rate
    assert audio.seconds == pytest.approx(0.5, abs=1e-3)
    assert wav_duration(path) == pytest.approx(0.5, abs=1e-3)


def test_stereo_becomes_mono_average(tmp_path: Path) -> None:
    left, right = np.full(100, 1000, "<i2"), np.full(100, 3000, "<i2")
    path = stdlib_wav(tmp_path / "s.wav", np.column_stack([left, right]), 22050, channels=2)
    audio = read_wav(path)
    assert len(audio.samples) == 100 and set(audio.samples.tolist()) == {2000}


def test_unsigned_8bit_is_centered(tmp_path: Path) -> None:
    path = stdlib_wav(tmp_path / "u8.wav", np.array([128, 255, 0], np.uint8), 8000, width=1)
    assert read_wav(path).samples.tolist() == [0, 32512, -32768]


def test_unfinished_header_sizes_zero(tmp_path: Path) -> None:
    # What Asterisk leaves when it never got to finalize the file: RIFF and data sizes 0.
    path = write_wav(tmp_path / "cut.wav", Audio(ramp(4000), 8000))
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, 4, 0)
    struct.pack_into("<I", raw, 40, 0)
    path.write_bytes(bytes(raw))
    assert np.array_equal(read_wav(path).samples, ramp(4000))


def test_file_shorter_than_header_claims(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "short.wav", Audio(ramp(4000), 8000))
    data = path.read_bytes()
    path.write_bytes(data[: 44 + 2 * 1500 + 1])  # cut mid-sample: the torn sample is dropped
    audio = read_wav(path)
    assert np.array_equal(audio.samples, ramp(1500))
    assert audio.seconds == pytest.approx(1500 / 8000)


def test_header_only_is_empty_audio(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "empty.wav", Audio(np.zeros(0, np.int16), 8000))
    assert len(read_wav(path).samples) == 0


def test_not_a_wav_is_a_speech_error(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"this is not audio at all")
    with pytest.raises(SpeechError, match="not a WAV"):
        read_wav(tmp_path / "x.wav")
    with pytest.raises(SpeechError, match="cannot read"):
        read_wav(tmp_path / "missing.wav")


@pytest.mark.parametrize(("src", "dst"), [(22050, 8000), (8000, 16000), (16000, 8000)])
def test_resample_keeps_duration_and_pitch(src: int, dst: int) -> None:
    original = tone(1000.0, 2.0, rate=src)
    out = resample(original, dst)
    assert out.rate == dst
    assert out.seconds == pytest.approx(original.seconds, abs=1 / dst)
    assert peak_hz(out) == pytest.approx(1000.0, abs=1.0)


def test_to_asterisk_wav_is_8k_mono_16bit(tmp_path: Path) -> None:
    stereo = np.column_stack([tone(440.0, 1.0, rate=22050).samples] * 2)
    src = stdlib_wav(tmp_path / "src.wav", stereo, 22050, channels=2)
    to_asterisk_wav(src, tmp_path / "out.wav")
    with wave.open(str(tmp_path / "out.wav")) as check:
        assert (check.getnchannels(), check.getsampwidth(), check.getframerate()) == (1, 2, 8000)
        assert check.getnframes() == 8000
    assert peak_hz(read_wav(tmp_path / "out.wav")) == pytest.approx(440.0, abs=1.0)


def test_tone_and_silence() -> None:
    beep = tone(1000.0, 0.25)
    assert (beep.rate, len(beep.samples)) == (8000, 2000)
    assert beep.samples[0] == 0 and np.abs(beep.samples).max() > 16000  # faded in, loud
    assert not silence(3.0).samples.any() and silence(3.0).seconds == 3.0
